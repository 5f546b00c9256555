using System.Diagnostics;
using System.Globalization;
using System.Text;
using Comet4Net.Client;

namespace Comet4Net.Bench;

/// <summary>
/// bench/run.sh --client-cost [--repeat N]: what one subscriber costs its own process while it receives a
/// burst as fast as the server sends it. The raw bench client (one socket, the hand-written HTTP and the
/// byte scanner) beside one <see cref="CometClient"/> forced to <c>stream</c> and to <c>websocket</c>.
/// Each measurement runs in a child process of its own (this binary with <c>--client-cost-child</c>), so
/// its CPU time, allocations and memory are that subscriber's alone; the parent only starts the server,
/// asks it to broadcast, and reads the figures the child prints. Two bursts: live (read while the server
/// sends) and a backlog (queued while the reader is held, then read as fast as the subscriber can).
/// </summary>
internal static class ClientCost
{
    internal const int Warm = 20_000;     // messages received before measuring: JIT, tiering, pools
    internal const int Burst = 200_000;   // the measured burst, ~100-byte payloads
    internal static readonly string[] Kinds = ["raw", "client-stream", "client-websocket"];

    private static readonly Dictionary<string, string> ServerEnvironment = new()
    {
        // One subscriber may fall 200,000 behind: keep the whole burst in the log so it is never a gap.
        ["Comet__MaxLogMessages"] = "1000000",
        ["Comet__MaxLogBytes"] = (512L << 20).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The figures of one run of one kind (parsed from the child's <c>done</c> line, plus the parent's own).</summary>
    internal sealed record Run(string Kind, double PerSecond, double CpuMicrosPerMessage, double CpuShare, double ServerCpuMicrosPerMessage,
        double AllocatedPerMessage, double Gen0, double Gen2, double RssBeforeMb, double PeakGrowthMb, double HeapGrowthKb, double RetainedKb,
        double DrainPerSecond, double DrainCpuMicrosPerMessage, double DrainCpuShare, double DrainAllocatedPerMessage, double DrainServerCpuShare, bool Exact, string Check);

    internal static async Task<int> RunAsync(string serverDll, string results, int repeat)
    {
        var self = typeof(ClientCost).Assembly.Location;
        var runs = new List<Run>();
        var clock = Stopwatch.StartNew();
        Console.WriteLine($"client cost: {Burst} messages to one subscriber, after {Warm} to warm up; {string.Join(", ", Kinds)}; {repeat} run(s) each");
        for (var i = 0; i < repeat; i++)
        {
            foreach (var kind in Kinds)
            {
                Console.WriteLine($"== {kind}, run {i + 1}/{repeat}  (load: {Load()})");
                var run = await OneAsync(serverDll, self, kind);
                Console.WriteLine($"   {kind}: {run.PerSecond:F0} msg/s, client {run.CpuMicrosPerMessage:F2} µs/msg ({run.CpuShare:P0} of a core), server {run.ServerCpuMicrosPerMessage:F2} µs/msg, " +
                                  $"{run.AllocatedPerMessage:F0} B/msg allocated, gen0 {run.Gen0:F0} gen2 {run.Gen2:F0}, RSS {run.RssBeforeMb:F1} MB +{run.PeakGrowthMb:F1} MB peak, " +
                                  $"heap +{run.HeapGrowthKb:F0} KB, retained {run.RetainedKb:F0} KB; backlog {run.DrainPerSecond:F0} msg/s, {run.DrainCpuMicrosPerMessage:F2} µs/msg " +
                                  $"({run.DrainCpuShare:P0} of a core, server {run.DrainServerCpuShare:P0}), {run.DrainAllocatedPerMessage:F0} B/msg; {run.Check}");
                runs.Add(run);
            }
        }
        var table = Table(runs, repeat);
        Console.WriteLine();
        Console.WriteLine(table);
        File.WriteAllText(Path.Combine(results, "client-cost.md"), table);
        Console.WriteLine(Summary(runs));
        Console.WriteLine($"({clock.Elapsed.TotalSeconds:F0} s)");
        return runs.All(r => r.Exact) ? 0 : 1;
    }

    private static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static async Task<Run> OneAsync(string serverDll, string self, string kind)
    {
        await using var server = await ServerProcess.StartAsync(serverDll, "comet", ServerEnvironment);
        var info = new ProcessStartInfo("dotnet", $"\"{self}\" --client-cost-child {kind} {server.Port}")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.Environment["DOTNET_gcServer"] = "0";
        using var child = Process.Start(info)!;
        try
        {
            await ExpectAsync(child, "ready", 30);
            // Warm up, then the measured burst. The child snapshots its counters before it says "armed".
            await child.StandardInput.WriteLineAsync($"go {Warm}");
            await ExpectAsync(child, "armed", 30);
            await server.BroadcastAsync(Warm, 0);
            await ExpectAsync(child, "done", 60);
            await child.StandardInput.WriteLineAsync($"go {Burst}");
            await ExpectAsync(child, "armed", 30);
            var serverCpu = server.CpuSeconds();
            var start = DateTime.UtcNow.Ticks;
            await server.BroadcastAsync(Burst, 0);
            var done = Parse(await ExpectAsync(child, "done", 60));
            var serverSeconds = server.CpuSeconds() - serverCpu;

            // The backlog: the child holds its reader, the server queues the whole burst (its log keeps it),
            // then the child lets go and reads as fast as it can: its own limit, not the server's sending pace.
            await child.StandardInput.WriteLineAsync($"hold {Burst}");
            await ExpectAsync(child, "armed", 30);
            await server.BroadcastAsync(Burst, 0);
            await QuietAsync(server);
            var serverCpuDrain = server.CpuSeconds();
            await child.StandardInput.WriteLineAsync("release");
            var drain = Parse(await ExpectAsync(child, "done", 60));
            serverCpuDrain = server.CpuSeconds() - serverCpuDrain;
            child.StandardInput.Close(); // the child stops its client and exits
            if (!child.WaitForExit(10_000)) child.Kill(entireProcessTree: true);

            var received = done["n"];
            var seconds = Math.Max(1e-3, (done["last"] - start) / 1e7);
            var cpu = done["cpu"];
            var drainSeconds = Math.Max(1e-3, (drain["last"] - drain["start"]) / 1e7);
            bool Exact(Dictionary<string, double> d) => d["n"] == Burst && d["breaks"] == 0 && d["span"] == Burst && d["gaps"] == 0;
            string Check(string name, Dictionary<string, double> d) => Exact(d) ? "" : $" {name}: received {d["n"]:F0}/{Burst}, seq breaks {d["breaks"]:F0}, seq span {d["span"]:F0}, gaps {d["gaps"]:F0};";
            var exact = Exact(done) && Exact(drain);
            var check = exact ? "all in order" : "NOT EXACT:" + Check("live", done) + Check("backlog", drain);
            return new Run(kind, received / seconds, cpu * 1e6 / Math.Max(1, received), cpu / seconds, serverSeconds * 1e6 / Burst,
                done["alloc"] / Math.Max(1, received), done["gen0"], done["gen2"], done["rss"] / 1048576.0, Math.Max(0, done["peak"] - done["rss"]) / 1048576.0,
                (done["heap"] - done["heap0"]) / 1024.0, (done["retained"] - done["heap0"]) / 1024.0,
                drain["n"] / drainSeconds, drain["cpu"] * 1e6 / Math.Max(1, drain["n"]), drain["cpu"] / drainSeconds, drain["alloc"] / Math.Max(1, drain["n"]),
                serverCpuDrain / drainSeconds, exact, check);
        }
        finally
        {
            try { if (!child.HasExited) child.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        }
    }

    /// <summary>Waits until the server has sent the burst: its CPU still for 250 ms (the held subscriber's loop is parked), bounded.</summary>
    private static async Task QuietAsync(ServerProcess server)
    {
        var deadline = DateTime.UtcNow.AddSeconds(6); // well inside the server's SendTimeout (10 s) for the parked write
        await Task.Delay(250);
        var cpu = server.CpuSeconds();
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            var now = server.CpuSeconds();
            if (now - cpu <= 0.01) return;
            cpu = now;
        }
    }

    /// <summary>Reads the child's lines until one starts with <paramref name="word"/> (other lines are echoed), within a bound.</summary>
    private static async Task<string> ExpectAsync(Process child, string word, double seconds)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        while (true)
        {
            string? line;
            try { line = await child.StandardOutput.ReadLineAsync(timeout.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"the client-cost child said no '{word}' within {seconds} s"); }
            if (line is null) throw new IOException($"the client-cost child exited before '{word}'");
            if (line.StartsWith(word, StringComparison.Ordinal)) return line;
            Console.WriteLine("   child: " + line);
        }
    }

    private static Dictionary<string, double> Parse(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
        .Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => double.Parse(p[1], CultureInfo.InvariantCulture));

    private static string Table(List<Run> runs, int repeat)
    {
        var median = Kinds.Select(k => Median(runs.Where(r => r.Kind == k).ToList())).ToList();
        var sb = new StringBuilder();
        sb.AppendLine($"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load {Load()} at the end, median of {repeat} run(s) per cell. " +
                      $"One subscriber receives {Burst:N0} messages (~100-byte payload) sent as fast as the server goes, after {Warm:N0} to warm up; " +
                      "each subscriber in a process of its own, the Comet4Net server in another (loopback).");
        sb.AppendLine();
        (string Name, Func<Run, double> Get, string Format)[] rows =
        [
            ("received messages/s (first send to last receive)", x => x.PerSecond, "F0"),
            ("client CPU per message (µs)", x => x.CpuMicrosPerMessage, "F2"),
            ("client CPU over the burst (% of one core)", x => x.CpuShare * 100, "F0"),
            ("server CPU per message (µs)", x => x.ServerCpuMicrosPerMessage, "F2"),
            ("client bytes allocated per message", x => x.AllocatedPerMessage, "F0"),
            ("backlog: received messages/s (release to last receive)", x => x.DrainPerSecond, "F0"),
            ("backlog: client CPU per message (µs)", x => x.DrainCpuMicrosPerMessage, "F2"),
            ("backlog: client CPU (% of one core)", x => x.DrainCpuShare * 100, "F0"),
            ("backlog: client bytes allocated per message", x => x.DrainAllocatedPerMessage, "F0"),
            ("backlog: server CPU while it is read (% of one core)", x => x.DrainServerCpuShare * 100, "F0"),
            ("client gen0 / gen2 collections in the burst", x => x.Gen0, "F0"),
            ("client resident memory before the burst (MB)", x => x.RssBeforeMb, "F1"),
            ("client peak resident growth in the burst (MB)", x => x.PeakGrowthMb, "F1"),
            ("client managed heap growth over the burst (KB)", x => x.HeapGrowthKb, "F0"),
            ("client managed heap kept after a full GC (KB)", x => x.RetainedKb, "F0"),
        ];
        sb.AppendLine("| figure | " + string.Join(" | ", Kinds) + " | client-stream/raw | client-websocket/raw |");
        sb.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", Kinds.Length + 2)));
        foreach (var (name, get, format) in rows)
        {
            string Cell(Run r) => name.Contains("gen0") ? $"{r.Gen0:F0} / {r.Gen2:F0}" : get(r).ToString(format, CultureInfo.InvariantCulture);
            var raw = get(median[0]);
            sb.AppendLine($"| {name} | {string.Join(" | ", median.Select(Cell))} | {Ratio(get(median[1]), raw)} | {Ratio(get(median[2]), raw)} |");
        }
        sb.AppendLine($"| every message once and in order (runs) | {string.Join(" | ", Kinds.Select(k => $"{runs.Count(r => r.Kind == k && r.Exact)}/{runs.Count(r => r.Kind == k)}"))} | | |");
        return sb.ToString();
    }

    private static string Ratio(double a, double b) => double.IsFinite(a) && double.IsFinite(b) && b > 0 && a >= 0 ? (a / b).ToString("F2", CultureInfo.InvariantCulture) : "n/a";

    private static Run Median(List<Run> runs)
    {
        double M(Func<Run, double> f)
        {
            var v = runs.Select(f).OrderBy(x => x).ToArray();
            return v[v.Length / 2];
        }
        return new Run(runs[0].Kind, M(x => x.PerSecond), M(x => x.CpuMicrosPerMessage), M(x => x.CpuShare), M(x => x.ServerCpuMicrosPerMessage),
            M(x => x.AllocatedPerMessage), M(x => x.Gen0), M(x => x.Gen2), M(x => x.RssBeforeMb), M(x => x.PeakGrowthMb), M(x => x.HeapGrowthKb),
            M(x => x.RetainedKb), M(x => x.DrainPerSecond), M(x => x.DrainCpuMicrosPerMessage), M(x => x.DrainCpuShare), M(x => x.DrainAllocatedPerMessage),
            M(x => x.DrainServerCpuShare), runs.All(x => x.Exact), "");
    }

    private static string Summary(List<Run> runs)
    {
        var m = Kinds.Select(k => Median(runs.Where(r => r.Kind == k).ToList())).ToArray();
        string Of(Run r) => $"{r.PerSecond / 1e6:F2}M msg/s {r.CpuMicrosPerMessage:F2} µs/msg {r.AllocatedPerMessage:F0} B/msg backlog {r.DrainPerSecond / 1e6:F2}M msg/s";
        return $"summary: client-cost raw {Of(m[0])}; client-stream {Of(m[1])}; client-websocket {Of(m[2])}; " +
               $"cpu/msg client-stream/raw={Ratio(m[1].CpuMicrosPerMessage, m[0].CpuMicrosPerMessage)} client-websocket/raw={Ratio(m[2].CpuMicrosPerMessage, m[0].CpuMicrosPerMessage)}; " +
               $"backlog msg/s client-stream/raw={Ratio(m[1].DrainPerSecond, m[0].DrainPerSecond)} client-websocket/raw={Ratio(m[2].DrainPerSecond, m[0].DrainPerSecond)}; " +
               $"exact={(runs.All(r => r.Exact) ? "all" : "NO")}";
    }

    // ---------------------------------------------------------------- the child process

    /// <summary>
    /// <c>--client-cost-child KIND PORT</c>: connects one subscriber, says <c>ready</c>, then for each
    /// <c>go N</c> on stdin: snapshots its counters, says <c>armed</c>, waits for N messages (bounded) and
    /// says <c>done key=value…</c>. <c>hold N</c> does the same with its reader held until a <c>release</c>
    /// line (the backlog; counters taken at the release). Stops when stdin closes.
    /// </summary>
    internal static async Task<int> ChildAsync(string[] args)
    {
        var at = Array.IndexOf(args, "--client-cost-child");
        var kind = args[at + 1];
        var port = int.Parse(args[at + 2], CultureInfo.InvariantCulture);
        using var stop = new CancellationTokenSource();
        await using IReceiver receiver = kind == "raw" ? new RawReceiver(port) : new ClientReceiver(port, kind["client-".Length..]);
        await receiver.StartAsync(stop.Token);
        Console.WriteLine("ready");
        string? line;
        while ((line = Console.ReadLine()) is not null)
        {
            var hold = line.StartsWith("hold ", StringComparison.Ordinal);
            if (!hold && !line.StartsWith("go ", StringComparison.Ordinal)) continue;
            var count = long.Parse(line[(hold ? 5 : 3)..], CultureInfo.InvariantCulture);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var heap0 = GC.GetTotalMemory(false);
            ResetPeak();
            if (hold) receiver.Hold();
            var mark = receiver.Arm();
            var before = Snapshot.Take();
            Console.WriteLine("armed");
            var start = 0L;
            if (hold)
            {
                if (Console.ReadLine() != "release") break; // the server is queuing the burst meanwhile
                before = Snapshot.Take();
                start = DateTime.UtcNow.Ticks;
                receiver.Release();
            }
            var deadline = DateTime.UtcNow.AddSeconds(50);
            while (receiver.Received - mark.Received < count && DateTime.UtcNow < deadline) await Task.Delay(2);
            var after = Snapshot.Take();
            var (received, last, breaks, span, gaps) = receiver.Since(mark);
            var heap = GC.GetTotalMemory(false);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var retained = GC.GetTotalMemory(false);
            var peak = ServerProcess.MemoryOf(Environment.ProcessId).Peak;
            Console.WriteLine( // invariant culture: Program sets it first
                $"done n={received} start={start} last={last} breaks={breaks} span={span} gaps={gaps} cpu={after.Cpu - before.Cpu} alloc={after.Allocated - before.Allocated} " +
                $"gen0={after.Gen0 - before.Gen0} gen2={after.Gen2 - before.Gen2} rss={before.Rss} peak={peak} heap0={heap0} heap={heap} retained={retained}");
        }
        stop.Cancel();
        return 0;
    }

    /// <summary>Resets this process's peak resident size (VmHWM), so the next peak is the burst's; harmless where not allowed.</summary>
    private static void ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private readonly record struct Snapshot(double Cpu, long Allocated, int Gen0, int Gen2, long Rss)
    {
        internal static Snapshot Take()
        {
            using var self = Process.GetCurrentProcess();
            return new(self.TotalProcessorTime.TotalSeconds, GC.GetTotalAllocatedBytes(precise: true), GC.CollectionCount(0), GC.CollectionCount(2),
                ServerProcess.MemoryOf(Environment.ProcessId).Rss);
        }
    }

    private readonly record struct Mark(long Received, long Seq, long Breaks, long Gaps);

    /// <summary>One subscriber as the child runs it: counts, the last seq, order breaks, the time of the last message.</summary>
    private interface IReceiver : IAsyncDisposable
    {
        long Received { get; }

        Task StartAsync(CancellationToken token);

        Mark Arm();

        /// <summary>Stops reading: the next message waits (the transport with it) until <see cref="Release"/>.</summary>
        void Hold();

        void Release();

        /// <summary>(received, last receive ticks, seq breaks, last seq − seq at the mark, gaps) since <paramref name="mark"/>.</summary>
        (long Received, long Last, long Breaks, long Span, long Gaps) Since(Mark mark);
    }

    /// <summary>The raw bench client: <see cref="CometSubscriber"/> on <c>stream</c>, its scanner and meter as every scenario uses them.</summary>
    private sealed class RawReceiver : IReceiver
    {
        private readonly Meter _meter = new();
        private readonly CometSubscriber _subscriber;
        private readonly CancellationTokenSource _cts = new();
        private Task? _run;

        internal RawReceiver(int port) => _subscriber = new CometSubscriber(port, _meter, "stream") { Gate = new ManualResetEventSlim(true) };

        public void Hold() => _subscriber.Gate!.Reset();

        public void Release() => _subscriber.Gate!.Set();

        private CometSubscriber Subscriber => _subscriber;

        public long Received => Subscriber.Received;

        public async Task StartAsync(CancellationToken token)
        {
            _run = Task.Run(() => Subscriber.RunAsync(_cts.Token));
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!Subscriber.Ready && !_run.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(5, token);
            if (!Subscriber.Ready) throw new InvalidOperationException("the raw subscriber did not connect");
        }

        public Mark Arm()
        {
            var (seq, breaks) = Subscriber.Order;
            return new(Received, seq, breaks, 0);
        }

        public (long, long, long, long, long) Since(Mark mark)
        {
            var (seq, breaks) = Subscriber.Order;
            return (Received - mark.Received, _meter.LastReceive, breaks - mark.Breaks, seq - mark.Seq, 0);
        }

        public async ValueTask DisposeAsync()
        {
            _cts.Cancel();
            _subscriber.Gate!.Set();
            if (_run is not null) await Task.WhenAny(_run, Task.Delay(2000));
            _cts.Dispose();
        }
    }

    /// <summary>One <see cref="CometClient"/> with its transport forced; a synchronous handler checks seq and the payload's <c>i</c>.</summary>
    private sealed class ClientReceiver(int port, string transport) : IReceiver
    {
        private readonly CometClient _client = new(new Uri($"http://127.0.0.1:{port}/conn"), new CometClientOptions { Transport = transport });
        private readonly ManualResetEventSlim _gate = new(true);
        private long _received, _last, _lastSeq, _breaks, _gaps, _nextI;

        public void Hold() => _gate.Reset();

        public void Release() => _gate.Set();

        public long Received => Volatile.Read(ref _received);

        public async Task StartAsync(CancellationToken token)
        {
            _client.On("b", message =>
            {
                // One handler at a time, in order (the client's guarantee): plain fields, published by the count.
                _gate.Wait(); // open but while --client-cost queues a backlog: the client's reading waits with it
                var seq = message.Seq ?? -1;
                var i = message.Data.GetProperty("i").GetInt64();
                if ((_lastSeq != 0 && seq != _lastSeq + 1) || i != _nextI) _breaks++;
                _lastSeq = seq;
                _nextI = i + 1;
                Volatile.Write(ref _last, DateTime.UtcNow.Ticks);
                Volatile.Write(ref _received, _received + 1);
            });
            _client.Gap += (_, _) => Interlocked.Increment(ref _gaps);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
            timeout.CancelAfter(TimeSpan.FromSeconds(20));
            await _client.StartAsync(timeout.Token);
            if (_client.Transport?.WireName() != transport) throw new InvalidOperationException($"the client opened {_client.Transport}, not {transport}");
        }

        public Mark Arm()
        {
            _nextI = 0; // every broadcast numbers its messages from 0 (read by the handler only after "armed" and the POST)
            return new(Received, Volatile.Read(ref _lastSeq), Volatile.Read(ref _breaks), Interlocked.Read(ref _gaps));
        }

        public (long, long, long, long, long) Since(Mark mark) =>
            (Received - mark.Received, Volatile.Read(ref _last), Volatile.Read(ref _breaks) - mark.Breaks, Volatile.Read(ref _lastSeq) - mark.Seq,
                Interlocked.Read(ref _gaps) - mark.Gaps);

        public async ValueTask DisposeAsync()
        {
            _gate.Set();
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try { await _client.StopAsync(bound.Token); } catch (Exception e) when (e is OperationCanceledException or HttpRequestException) { }
            await _client.DisposeAsync();
        }
    }
}
