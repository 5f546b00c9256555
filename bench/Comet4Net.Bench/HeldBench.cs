using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Comet4Net.Bench;

/// <summary>
/// bench/run.sh --cluster --held [--quick]: the most v2 stream subscribers held across three Comet4Net
/// nodes sharing one Redis on this machine. Every process here may open at most 20,000 files, so the
/// subscribers come from several load-client processes (this binary with --held-client), each holding
/// at most <see cref="PerClient"/> raw sockets. The ramp adds <see cref="Step"/> subscribers a step,
/// 200 connecting at a time, spread evenly over the nodes, until the target, failed connects or the
/// time bound; then one broadcast sent on the first node must reach every held subscriber.
/// Writes bench/results/cluster-held.md. Every child process is killed at the end, also on failure.
/// </summary>
internal static class HeldBench
{
    internal const int PerClient = 18_000;
    private const int Step = 6_000, InFlight = 200, Nodes = 3;

    private static readonly List<Action> Killers = new(); // what ends the children we started, whatever happens
    private static readonly object Gate = new();

    private sealed record StepRow(int Number, int Held, int[] PerNode, double Seconds, double Rate, int Failed, double[] NodeRssMb, int[] NodeFiles);

    internal static async Task<int> RunAsync(string root, bool quick, int? targetOverride = null)
    {
        var serverDll = Path.Combine(root, "bench", "Comet4Net.Bench.Server", "bin", "Release", "net10.0", "Comet4Net.Bench.Server.dll");
        var benchDll = typeof(HeldBench).Assembly.Location;
        var target = Math.Clamp(targetOverride ?? (quick ? 30_000 : 54_000), 100, 5 * PerClient);
        var rampBound = TimeSpan.FromSeconds(quick ? 150 : 360);
        var clientCount = (target + PerClient - 1) / PerClient;
        var inFlight = Math.Max(1, InFlight / clientCount);

        void KillAll(object? sender, EventArgs e)
        {
            Action[] killers;
            lock (Gate) killers = Killers.ToArray();
            foreach (var kill in killers)
            {
                try { kill(); } catch (Exception) { }
            }
        }
        // Ctrl-C, kill (SIGTERM) or a closed terminal end the bench without its finally blocks: end the children first.
        var signals = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT }
            .Select(signal => PosixSignalRegistration.Create(signal, _ => KillAll(null, EventArgs.Empty))).ToList();
        AppDomain.CurrentDomain.ProcessExit += KillAll;

        Process? redis = null;
        var servers = new List<ServerProcess>();
        var clients = new List<LoadClient>();
        try
        {
            Console.WriteLine($"== held connections: {Nodes} nodes on Redis, target {target:N0} stream subscribers from {clientCount} load clients (at most {PerClient:N0} each), +{Step:N0} a step, {InFlight} in flight");
            redis = ClusterBench.StartRedis(out var redisPort);
            var redisProcess = redis;
            Track(() => { if (!redisProcess.HasExited) redisProcess.Kill(); });
            var environment = new Dictionary<string, string> { ["Comet__Redis"] = $"127.0.0.1:{redisPort}" };
            for (var i = 0; i < Nodes; i++)
            {
                var server = await ServerProcess.StartAsync(serverDll, "comet", environment);
                servers.Add(server);
                Track(server.Kill);
            }
            var ports = servers.Select(s => s.Port).ToArray();

            // Warm up every node (JIT, Redis stream readers) with a few subscribers from this process, then let them go.
            var meter = new Meter();
            using (var stop = new CancellationTokenSource())
            await using (var warm = new Crowd("comet-stream", ports, meter, 60))
            {
                await warm.ConnectAsync(stop.Token);
                await servers[0].BroadcastAsync(20, 0);
                await WaitAsync(() => meter.Delivered >= 20 * 60, 20);
            }
            await Task.Delay(1000);
            var baseRss = servers.Select(s => s.Memory().Rss).ToArray();

            for (var i = 0; i < clientCount; i++)
            {
                var client = LoadClient.Start(benchDll, ports, i, inFlight);
                clients.Add(client);
                Track(client.Kill);
            }
            var statuses = await Task.WhenAll(clients.Select(c => c.AskAsync("status", TimeSpan.FromSeconds(30))));
            var clientBaseRss = clients.Select(c => ServerProcess.MemoryOf(c.Pid).Rss).ToArray();

            // The ramp.
            var steps = new List<StepRow>();
            var assigned = new int[clientCount];
            var stopReason = "target reached";
            var ramp = Stopwatch.StartNew();
            var held = 0;
            var failed = 0;
            while (assigned.Sum() < target)
            {
                if (ramp.Elapsed > rampBound) { stopReason = $"time bound ({rampBound.TotalSeconds:F0} s)"; break; }
                var available = MemAvailableGiB();
                if (available < 2) { stopReason = $"machine memory low ({available:F1} GiB available)"; break; }
                var want = Math.Min(Step, target - assigned.Sum());
                var shares = new int[clientCount];
                for (var k = 0; k < want; k++)
                {
                    var i = Enumerable.Range(0, clientCount).Where(c => assigned[c] + shares[c] < PerClient).OrderBy(c => assigned[c] + shares[c]).FirstOrDefault(-1);
                    if (i < 0) break;
                    shares[i]++;
                }
                if (shares.Sum() == 0) { stopReason = "every load client is full"; break; }
                var clock = Stopwatch.StartNew();
                statuses = await Task.WhenAll(clients.Select((c, i) => shares[i] > 0
                    ? c.AskAsync($"connect {shares[i]}", TimeSpan.FromSeconds(240))
                    : c.AskAsync("status", TimeSpan.FromSeconds(30))));
                var seconds = clock.Elapsed.TotalSeconds;
                for (var i = 0; i < clientCount; i++) assigned[i] += shares[i];
                var nowHeld = statuses.Sum(s => s.Held);
                var nowFailed = statuses.Sum(s => s.Failed + s.Dropped);
                var row = new StepRow(steps.Count + 1, nowHeld, PerNode(statuses), seconds, Math.Max(0, nowHeld - held) / Math.Max(1e-3, seconds),
                    nowFailed - failed, servers.Select(s => Memory(s).Rss / 1048576.0).ToArray(), servers.Select(s => s.HasExited ? 0 : OpenFiles(s.Pid)).ToArray());
                steps.Add(row);
                Console.WriteLine(FormattableString.Invariant(
                    $"   step {row.Number}: +{shares.Sum():N0} -> {nowHeld:N0} held ({string.Join(" / ", row.PerNode.Select(x => x.ToString("N0", CultureInfo.InvariantCulture)))} per node), {row.Rate:F0} connections/s, {row.Failed} failed, node RSS {string.Join(" / ", row.NodeRssMb.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)))} MB, open files {string.Join(" / ", row.NodeFiles)}"));
                var stepFailed = nowFailed - failed;
                var stepHeld = nowHeld - held;
                held = nowHeld;
                failed = nowFailed;
                if (servers.Any(s => s.HasExited))
                {
                    stopReason = $"node {string.Join(", ", Enumerable.Range(0, Nodes).Where(i => servers[i].HasExited).Select(i => $"{i + 1} (exit code {servers[i].ExitCode})"))} exited in step {row.Number}";
                    break;
                }
                if (stepFailed > Math.Max(50, shares.Sum() / 100)) { stopReason = $"connects failed ({stepFailed:N0} in step {row.Number})"; break; }
                if (stepHeld <= 0) { stopReason = $"no progress in step {row.Number}"; break; }
            }
            var rampSeconds = ramp.Elapsed.TotalSeconds;

            // Settle, then what is held and what it costs.
            await Task.Delay(quick ? 2000 : 3000);
            statuses = await Task.WhenAll(clients.Select(c => c.AskAsync("status", TimeSpan.FromSeconds(30))));
            held = statuses.Sum(s => s.Held);
            var perNode = PerNode(statuses);
            var rss = servers.Select(s => Memory(s).Rss).ToArray();
            var peak = servers.Select(s => Memory(s).Peak).ToArray();
            var redisRss = ServerProcess.MemoryOf(redis.Id).Rss;
            var openFiles = servers.Select(s => OpenFiles(s.Pid)).ToArray();
            var alive = servers.Select(s => !s.HasExited).ToArray();
            var clientRss = clients.Select(c => ServerProcess.MemoryOf(c.Pid).Rss).ToArray();

            // One broadcast sent on the first node must reach every held subscriber.
            await Task.WhenAll(clients.Select(c => c.AskAsync("reset", TimeSpan.FromSeconds(30))));
            var sender = servers.FindIndex(s => !s.HasExited); // node 1 unless it died in the ramp
            var sentTicks = DateTime.UtcNow.Ticks;
            if (sender >= 0) await servers[sender].BroadcastAsync(1, 0);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (sender >= 0)
            {
                statuses = await Task.WhenAll(clients.Select(c => c.AskAsync("status", TimeSpan.FromSeconds(30))));
                if (statuses.Sum(s => s.Reached) >= statuses.Sum(s => s.Held) || DateTime.UtcNow > deadline) break;
                await Task.Delay(100);
            }
            var reached = statuses.Sum(s => s.Reached);
            var heldAtBroadcast = statuses.Sum(s => s.Held);
            var delivered = statuses.Sum(s => s.Delivered);
            var reachedPer = PerNode(statuses, s => s.ReachedPer);
            var heldPer = PerNode(statuses, s => s.HeldPer);
            double Ms(long last) => last > 0 ? (last - sentTicks) / 1e4 : double.NaN;
            var deliverMsPer = Enumerable.Range(0, Nodes).Select(i => Ms(statuses.Max(s => s.LastPer[i]))).ToArray();
            var deliverMs = Ms(statuses.Max(s => s.LastPer.Max()));
            var latencyMaxPer = Enumerable.Range(0, Nodes).Select(i => statuses.Max(s => s.MaxPer[i])).ToArray();

            var sb = new StringBuilder();
            var inv = CultureInfo.InvariantCulture;
            string Each<T>(IEnumerable<T> values, Func<T, string> format) => string.Join(" / ", values.Select(format));
            sb.AppendLine(inv, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB, " +
                               $"{(quick ? "--quick" : "full")} mode. {Nodes} Comet4Net nodes (v2 stream work style) on one Redis, {clientCount} load-client processes (raw sockets, " +
                               $"at most {PerClient:N0} each, client ends over 127.0.0.2-9): nodes, Redis and clients all on this machine (loopback).");
            sb.AppendLine();
            sb.AppendLine("| figure | value |");
            sb.AppendLine("|---|---:|");
            sb.AppendLine(inv, $"| target (subscribers) | {target:N0} |");
            sb.AppendLine(inv, $"| ramp stopped because | {stopReason} |");
            sb.AppendLine(inv, $"| connections held, total | **{held:N0}** |");
            if (steps.Count > 0 && steps.MaxBy(x => x.Held) is { } most && most.Held > held)
                sb.AppendLine(inv, $"| most held during the ramp | {most.Held:N0} (after step {most.Number}) |");
            sb.AppendLine(inv, $"| connections held per node | {Each(perNode, x => x.ToString("N0", inv))} |");
            sb.AppendLine(inv, $"| failed to connect / dropped after connecting | {statuses.Sum(s => s.Failed):N0} / {statuses.Sum(s => s.Dropped):N0} |");
            sb.AppendLine(inv, $"| connect rate over the ramp (connections/s, {InFlight} in flight) | {held / Math.Max(1e-3, rampSeconds):F0} |");
            sb.AppendLine(inv, $"| node resident memory (MB) | {Each(rss, x => (x / 1048576.0).ToString("F0", inv))} |");
            sb.AppendLine(inv, $"| node peak resident memory (MB) | {Each(peak, x => (x / 1048576.0).ToString("F0", inv))} |");
            sb.AppendLine(inv, $"| node memory per connection (KB, growth since before the ramp) | {Each(Enumerable.Range(0, Nodes), i => alive[i] ? ((rss[i] - baseRss[i]) / 1024.0 / Math.Max(1, perNode[i])).ToString("F1", inv) : "exited")} |");
            sb.AppendLine(inv, $"| live nodes, memory per connection (KB) | {Enumerable.Range(0, Nodes).Where(i => alive[i]).Sum(i => rss[i] - baseRss[i]) / 1024.0 / Math.Max(1, held):F1} |");
            sb.AppendLine(inv, $"| node open files (each process may open {FileLimit()}) | {Each(Enumerable.Range(0, Nodes), i => alive[i] ? openFiles[i].ToString("N0", inv) : "exited")} |");
            sb.AppendLine(inv, $"| Redis resident memory (MB) | {redisRss / 1048576.0:F0} |");
            sb.AppendLine(inv, $"| load clients' memory per connection (KB) | {(clientRss.Sum() - clientBaseRss.Sum()) / 1024.0 / Math.Max(1, held):F1} |");
            if (sender < 0) sb.AppendLine("| one broadcast | not sent: no node left |");
            else
            {
                sb.AppendLine(inv, $"| one broadcast sent on node {sender + 1}: subscribers reached / held | **{reached:N0} / {heldAtBroadcast:N0}** ({(heldAtBroadcast == 0 ? 0 : 100.0 * reached / heldAtBroadcast):F2} %) |");
                sb.AppendLine(inv, $"| reached / held, per node | {string.Join("; ", Enumerable.Range(0, Nodes).Select(i => $"{reachedPer[i]:N0} of {heldPer[i]:N0}"))} |");
                sb.AppendLine(inv, $"| messages delivered (one per held subscriber expected) / subscribers that got it more than once | {delivered:N0} / {statuses.Sum(s => s.Twice):N0} |");
                sb.AppendLine(inv, $"| time to deliver it to all (ms, from the POST to the last receive) | **{deliverMs:F0}** |");
                sb.AppendLine(inv, $"| time to deliver, per node's subscribers (ms) | {Each(deliverMsPer, x => x.ToString("F0", inv))} |");
                sb.AppendLine(inv, $"| send to receive, slowest subscriber per node (ms) | {Each(latencyMaxPer, x => x.ToString("F0", inv))} |");
            }
            sb.AppendLine();
            sb.AppendLine("| step | held after | per node | seconds | connections/s | failed | node RSS (MB) | node open files |");
            sb.AppendLine("|---:|---:|---|---:|---:|---:|---|---|");
            foreach (var s in steps)
            {
                sb.AppendLine(inv, $"| {s.Number} | {s.Held:N0} | {Each(s.PerNode, x => x.ToString("N0", inv))} | {s.Seconds:F1} | {s.Rate:F0} | {s.Failed} | {Each(s.NodeRssMb, x => x.ToString("F0", inv))} | {Each(s.NodeFiles, x => x.ToString("N0", inv))} |");
            }
            var table = sb.ToString();
            Console.WriteLine();
            Console.WriteLine(table);
            Directory.CreateDirectory(Path.Combine(root, "bench", "results"));
            File.WriteAllText(Path.Combine(root, "bench", "results", "cluster-held.md"), table);
            Console.WriteLine(FormattableString.Invariant(
                $"summary: held={held} per-node={string.Join("/", perNode)} connect/s={held / Math.Max(1e-3, rampSeconds):F0} broadcast reached={reached}/{heldAtBroadcast} in {deliverMs:F0} ms"));
            return reached >= heldAtBroadcast && heldAtBroadcast > 0 ? 0 : 1;
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
            foreach (var server in servers) await server.DisposeAsync();
            if (redis is not null)
            {
                if (!redis.HasExited) redis.Kill();
                redis.WaitForExit(5000);
                redis.Dispose();
            }
            lock (Gate) Killers.Clear();
            AppDomain.CurrentDomain.ProcessExit -= KillAll;
            foreach (var registration in signals) registration.Dispose();
        }
    }

    private static void Track(Action kill)
    {
        lock (Gate) Killers.Add(kill);
    }

    private static int[] PerNode(Status[] statuses, Func<Status, int[]>? get = null) =>
        Enumerable.Range(0, Nodes).Select(i => statuses.Sum(s => (get ?? (x => x.HeldPer))(s)[i])).ToArray();

    /// <summary>A node's memory, zero once it has exited.</summary>
    private static (long Rss, long Peak) Memory(ServerProcess server)
    {
        try { return server.HasExited ? (0, 0) : server.Memory(); }
        catch (IOException) { return (0, 0); }
    }

    private static int OpenFiles(int pid)
    {
        try { return Directory.GetFiles($"/proc/{pid}/fd").Length; }
        catch (IOException) { return -1; }
        catch (UnauthorizedAccessException) { return -1; }
    }

    /// <summary>The soft limit on open files this process (and so every child) has: "Max open files" in /proc/self/limits.</summary>
    private static string FileLimit()
    {
        var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files"));
        return line?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3] is { } soft && int.TryParse(soft, out var n) ? n.ToString("N0", CultureInfo.InvariantCulture) : "?";
    }

    private static double MemAvailableGiB()
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith("MemAvailable:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1048576.0;
        }
        return double.MaxValue;
    }

    private static async Task WaitAsync(Func<bool> condition, double seconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition() && DateTime.UtcNow < deadline) await Task.Delay(20);
    }

    /// <summary>
    /// A load client's answer, per node where it says so (a/b/c): "@ failed=… dropped=… twice=… held=a/b/c reached=a/b/c
    /// delivered=a/b/c last=a/b/c max=a/b/c" (last: UTC ticks of the last receive; max: slowest send to receive, ms).
    /// </summary>
    internal sealed record Status(int Failed, int Dropped, int Twice, int[] HeldPer, int[] ReachedPer, long[] DeliveredPer, long[] LastPer, double[] MaxPer)
    {
        internal int Held => HeldPer.Sum();
        internal int Reached => ReachedPer.Sum();
        internal long Delivered => DeliveredPer.Sum();

        internal static Status Parse(string line)
        {
            var fields = line[2..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1]);
            T[] List<T>(string name, Func<string, T> parse) => fields[name].Split('/').Select(parse).ToArray();
            return new Status(int.Parse(fields["failed"]), int.Parse(fields["dropped"]), int.Parse(fields["twice"]), List("held", int.Parse), List("reached", int.Parse),
                List("delivered", long.Parse), List("last", long.Parse), List("max", x => double.Parse(x, CultureInfo.InvariantCulture)));
        }

        internal string Format() => FormattableString.Invariant(
            $"@ failed={Failed} dropped={Dropped} twice={Twice} held={string.Join("/", HeldPer)} reached={string.Join("/", ReachedPer)} delivered={string.Join("/", DeliveredPer)} last={string.Join("/", LastPer)} max={string.Join("/", MaxPer.Select(x => x.ToString("F1", CultureInfo.InvariantCulture)))}");
    }

    /// <summary>The parent's handle on one load-client process: commands on its stdin, answers on its stdout.</summary>
    private sealed class LoadClient : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly int _index;

        private LoadClient(Process process, int index)
        {
            _process = process;
            _index = index;
        }

        internal int Pid => _process.Id;

        internal static LoadClient Start(string benchDll, int[] ports, int index, int inFlight)
        {
            var info = new ProcessStartInfo("dotnet", $"\"{benchDll}\" --held-client --ports {string.Join(",", ports)} --first {index} --inflight {inFlight}")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            info.Environment["DOTNET_gcServer"] = "0";
            var process = Process.Start(info)!;
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"   [client {index}] {e.Data}"); };
            process.BeginErrorReadLine();
            return new LoadClient(process, index);
        }

        internal async Task<Status> AskAsync(string command, TimeSpan timeout)
        {
            await _process.StandardInput.WriteLineAsync(command);
            await _process.StandardInput.FlushAsync();
            using var cts = new CancellationTokenSource(timeout);
            while (true)
            {
                var line = await _process.StandardOutput.ReadLineAsync(cts.Token)
                           ?? throw new InvalidOperationException($"load client {_index} exited (code {(_process.HasExited ? _process.ExitCode : -1)})");
                if (line.StartsWith("@ ")) return Status.Parse(line);
                Console.WriteLine($"   [client {_index}] {line}");
            }
        }

        internal void Kill()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (!_process.HasExited)
                {
                    await _process.StandardInput.WriteLineAsync("quit");
                    await _process.StandardInput.FlushAsync();
                }
            }
            catch (IOException) { }
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await _process.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) { Kill(); await _process.WaitForExitAsync(); }
            _process.Dispose();
        }
    }

    /// <summary>
    /// The load client (dotnet Comet4Net.Bench.dll --held-client --ports a,b,c --first i --inflight k):
    /// reads commands on stdin ("connect N", "status", "reset", "quit"), answers each with one "@ …"
    /// status line, and exits when told or when stdin closes (its parent is gone).
    /// </summary>
    internal static async Task<int> ClientAsync(string[] args)
    {
        string Arg(string name) => args.SkipWhile(a => a != name).Skip(1).First();
        var ports = Arg("--ports").Split(',').Select(int.Parse).ToArray();
        var first = int.Parse(Arg("--first"));
        var inFlight = int.Parse(Arg("--inflight"));
        var meters = ports.Select(_ => new Meter()).ToArray(); // one per node: its subscribers' deliveries and latency
        var subscribers = new List<Held>();
        var reasons = 0;
        using var cts = new CancellationTokenSource();

        Status Now()
        {
            int failed = 0, dropped = 0, twice = 0;
            var held = new int[ports.Length];
            var reached = new int[ports.Length];
            foreach (var h in subscribers)
            {
                var done = h.Run.IsCompleted;
                if (h.Subscriber.Ready && !done)
                {
                    held[h.PortIndex]++;
                    if (h.Subscriber.Received > h.Baseline) reached[h.PortIndex]++;
                    if (h.Subscriber.Received > h.Baseline + 1) twice++;
                }
                else if (done)
                {
                    if (h.Subscriber.Ready) dropped++; else failed++;
                }
            }
            return new Status(failed, dropped, twice, held, reached, meters.Select(m => m.Delivered).ToArray(), meters.Select(m => m.LastReceive).ToArray(),
                meters.Select(m => m.Delivered > 0 ? m.Latency().Max : 0).ToArray());
        }

        async Task ConnectAsync(int n)
        {
            // Not disposed: a subscriber's task releases it just after it turns ready, possibly after this step has ended.
            var gate = new SemaphoreSlim(inFlight);
            var giveUp = DateTime.UtcNow.AddSeconds(180);
            var batch = new List<Held>();
            for (var i = 0; i < n && subscribers.Count < PerClient && DateTime.UtcNow < giveUp; i++)
            {
                if (!await gate.WaitAsync(TimeSpan.FromSeconds(30))) break;
                var portIndex = (first + subscribers.Count) % ports.Length; // spread evenly over the nodes
                var s = Subscriber.Create("comet-stream", ports[portIndex], meters[portIndex]);
                var h = new Held(s, portIndex, Task.Run(async () =>
                {
                    var run = s.RunAsync(cts.Token);
                    var deadline = DateTime.UtcNow.AddSeconds(15);
                    while (!s.Ready && !s.Failed && !run.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(5);
                    gate.Release();
                    try { await run; }
                    catch (Exception e)
                    {
                        s.Failed = true;
                        // The first few reasons a subscriber failed or its held stream ended, for the log.
                        if (!cts.IsCancellationRequested && Interlocked.Increment(ref reasons) <= 5)
                            Console.Error.WriteLine($"subscriber of node {portIndex + 1} {(s.Ready ? "dropped" : "failed")}: {e.GetType().Name}: {e.Message}");
                    }
                }));
                subscribers.Add(h);
                batch.Add(h);
                // Connects failing: stop this step early (more than 1 % of it, at least 50).
                if ((i & 255) == 255 && batch.Count(b => b.Run.IsCompleted && !b.Subscriber.Ready) > Math.Max(50, n / 100)) break;
            }
            var end = DateTime.UtcNow.AddSeconds(30);
            while (batch.Any(b => !b.Subscriber.Ready && !b.Run.IsCompleted) && DateTime.UtcNow < end) await Task.Delay(20);
        }

        while (await Task.Run(Console.ReadLine) is { } line)
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) continue;
            if (parts[0] == "quit") break;
            switch (parts[0])
            {
                case "connect":
                    await ConnectAsync(int.Parse(parts[1]));
                    break;
                case "reset":
                    foreach (var m in meters) m.Reset();
                    foreach (var h in subscribers) h.Baseline = h.Subscriber.Received;
                    break;
            }
            Console.WriteLine(Now().Format());
        }
        cts.Cancel(); // the sockets close as the process ends
        return 0;
    }

    private sealed class Held(Subscriber subscriber, int portIndex, Task run)
    {
        internal Subscriber Subscriber { get; } = subscriber;
        internal int PortIndex { get; } = portIndex;
        internal Task Run { get; } = run;
        internal long Baseline;
    }
}
