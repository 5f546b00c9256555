using System.Diagnostics;
using System.Globalization;
using System.Text;
using Comet4Net.Bench;

// Comet4Net against SignalR and a bare Kestrel loop, side by side, on loopback.
//   dotnet run -c Release --project bench/Comet4Net.Bench -- [--quick] [--repeat N] [--only comet-stream,bare] [--trace]
//   ... -- --cluster [--quick] [--repeat N]   one node against three on Redis (ClusterBench)
//   ... -- --cluster --held [--quick] [--target N]   the most connections held across three nodes (HeldBench)
//   ... -- --cluster --costs [--quick]   Redis and node costs per connection and per message, appends/s (ClusterCosts)
//   ... -- --client-cost [--repeat N]   one subscriber's own cost: the raw client beside CometClient (ClientCost)
//   ... -- --delta   a 2 KB state with one field changing: bytes and CPU per message with and without Fossil deltas (DeltaBench)
// (bench/run.sh builds the server and runs this.) Writes bench/results/latest.md and chart.svg/png.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args.Contains("--held-client")) return await HeldBench.ClientAsync(args); // a load client of --cluster --held
if (args.Contains("--client-cost-child")) return await ClientCost.ChildAsync(args); // one subscriber of --client-cost
var quick = args.Contains("--quick");
ServerProcess.Trace = args.Contains("--trace"); // the servers listen to their own traces and metrics (bench/README.md)
var cluster = args.Contains("--cluster");
var repeat = int.TryParse(args.SkipWhile(a => a != "--repeat").Skip(1).FirstOrDefault(), out var r) ? r : 1;
var root = FindRoot();
var serverDll = Path.Combine(root, "bench", "Comet4Net.Bench.Server", "bin", "Release", "net10.0", "Comet4Net.Bench.Server.dll");
if (!File.Exists(serverDll)) { Console.Error.WriteLine("Build the server first: dotnet build -c Release bench/Comet4Net.Bench.Server (bench/run.sh does)."); return 2; }
var results = Path.Combine(root, "bench", "results");
Directory.CreateDirectory(results);

if (args.Contains("--client-cost")) return await ClientCost.RunAsync(serverDll, results, repeat);
if (args.Contains("--delta")) return await DeltaBench.RunAsync(serverDll, root, results); // Fossil deltas: bytes and CPU per message
if (cluster && args.Contains("--costs")) return await ClusterCosts.RunAsync(serverDll, results, quick);
if (cluster && args.Contains("--held"))
    return await HeldBench.RunAsync(root, quick, int.TryParse(args.SkipWhile(a => a != "--target").Skip(1).FirstOrDefault(), out var t) ? t : null);
if (cluster) return await ClusterBench.RunAsync(FindRoot(), quick, repeat);
string[] kinds = quick ? ["comet-stream", "comet-websocket", "signalr-sse", "signalr-ws", "bare", "bare-conn"]
    : ["comet-stream", "comet-lpool", "comet-sse", "comet-websocket", "signalr-sse", "signalr-lpool", "signalr-ws", "bare", "bare-conn"];
if (args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault() is { } only) kinds = only.Split(',', StringSplitOptions.RemoveEmptyEntries);
int[] sizes = quick ? [10_000] : [1_000, 10_000];
var all = new List<Result>();
foreach (var n in sizes)
{
    foreach (var kind in kinds)
    {
        var runs = new List<Result>();
        for (var i = 0; i < repeat; i++)
        {
            Console.WriteLine($"== {kind}, {n} subscribers, run {i + 1}/{repeat}");
            runs.Add(await Scenario.RunAsync(serverDll, kind, n, quick));
        }
        all.Add(Result.Median(runs));
    }
}

var table = Report.Table(all, sizes, kinds, quick, repeat);
Console.WriteLine();
Console.WriteLine(table);
File.WriteAllText(Path.Combine(results, "latest.md"), table);
Report.Chart(all, sizes, kinds, results);
Console.WriteLine(Report.Summary(all));
return 0;

static string FindRoot()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Comet4Net.sln"))) dir = dir.Parent;
    return dir?.FullName ?? Directory.GetCurrentDirectory();
}

/// <summary>The figures of one server at one size.</summary>
internal sealed record Result(string Kind, int N, double ConnectPerSecond, double IdleBytesPerConnection, double FixedRate, double FixedDelivered,
    double P50, double P99, double Max, double BurstDelivered, double CpuMicrosPerMessage, double PeakRssMb, double Lost, double AfterBurstBytesPerConnection)
{
    internal static Result Median(List<Result> runs)
    {
        double M(Func<Result, double> f)
        {
            var v = runs.Select(f).OrderBy(x => x).ToArray();
            return v[v.Length / 2];
        }
        var first = runs[0];
        return new Result(first.Kind, first.N, M(x => x.ConnectPerSecond), M(x => x.IdleBytesPerConnection), first.FixedRate, M(x => x.FixedDelivered),
            M(x => x.P50), M(x => x.P99), M(x => x.Max), M(x => x.BurstDelivered), M(x => x.CpuMicrosPerMessage), M(x => x.PeakRssMb), M(x => x.Lost),
            M(x => x.AfterBurstBytesPerConnection));
    }
}

internal static class Scenario
{
    internal static async Task<Result> RunAsync(string serverDll, string kind, int n, bool quick)
    {
        var serverKind = kind.StartsWith("comet") ? "comet" : kind.StartsWith("signalr") ? "signalr" : kind;
        await using var server = await ServerProcess.StartAsync(serverDll, serverKind);
        var meter = new Meter();
        using var stop = new CancellationTokenSource();

        // Warm up: a few subscribers and a few messages, then let them go; three rounds a second apart, then until the
        // JIT is quiet. Tiered compilation counts a method's calls only once no new method was compiled for a while,
        // then recompiles it (instrumented, then optimized) in the background: with one short round that happened
        // during the measurements below, its CPU counted per message and its code memory per connection.
        for (var round = 0; round < 3; round++)
        {
            meter.Reset();
            await using (var warm = new Crowd(kind, server.Port, meter, 200))
            {
                await warm.ConnectAsync(stop.Token);
                await server.BroadcastAsync(200, 0);
                await WaitAsync(() => meter.Delivered >= 200 * 200, 10);
            }
            await Task.Delay(1000);
        }
        await server.JitQuietAsync();
        var jit0 = await server.JitAsync();
        GC.Collect();
        var allocs = Environment.GetEnvironmentVariable("BENCH_ALLOC") == "1"; // the server counts allocation samples by type (BenchAllocations)
        if (allocs) using (var http = new HttpClient()) await http.GetStringAsync($"http://127.0.0.1:{server.Port}/bench/allocs?reset=true");

        // (c) connect storm, then (b) idle memory.
        var before = server.Memory().Rss;
        await using var crowd = new Crowd(kind, server.Port, meter, n);
        var clock = Stopwatch.StartNew();
        await crowd.ConnectAsync(stop.Token);
        var connectPerSecond = crowd.ReadyCount / clock.Elapsed.TotalSeconds;
        await Task.Delay(quick ? 1000 : 2000);
        var idle = (server.Memory().Rss - before) / (double)Math.Max(1, crowd.ReadyCount);
        var subscribers = crowd.ReadyCount;
        var jit1 = await server.JitAsync();
        if (Environment.GetEnvironmentVariable("BENCH_GCDUMP") is { Length: > 0 } dumpDir)
        {
            // A heap dump of the idle server (dotnet-gcdump on PATH), then this run stops: the dump's full collection would skew the rest.
            using (var http = new HttpClient()) Console.WriteLine($"   {kind} N={n}: GC {await http.GetStringAsync($"http://127.0.0.1:{server.Port}/bench/gc")}");
            if (allocs) using (var http = new HttpClient()) File.WriteAllText(Path.Combine(dumpDir, $"{kind}-{n}.allocs"), await http.GetStringAsync($"http://127.0.0.1:{server.Port}/bench/allocs"));
            File.WriteAllText(Path.Combine(dumpDir, $"{kind}-{n}.smaps"), File.ReadAllText($"/proc/{server.Pid}/smaps"));
            var file = Path.Combine(dumpDir, $"{kind}-{n}.gcdump");
            using var dump = Process.Start("dotnet-gcdump", $"collect -p {server.Pid} -o \"{file}\"")!;
            await dump.WaitForExitAsync();
            var afterDump = (server.Memory().Rss - before) / (double)Math.Max(1, subscribers);
            var status = File.ReadAllLines($"/proc/{server.Pid}/status").Where(l => l.StartsWith("Threads") || l.StartsWith("RssAnon") || l.StartsWith("RssFile"));
            Console.WriteLine($"   {kind} N={n}: {subscribers} idle, {idle / 1024:F1} KB/conn, {afterDump / 1024:F1} KB/conn after the dump's collection, " +
                              $"{string.Join(", ", status.Select(l => string.Join(' ', l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))))}, heap dump {file}");
            stop.Cancel();
            return new Result(kind, n, connectPerSecond, idle, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        }

        // (a) fan-out at a fixed rate: ~50,000 deliveries a second whatever N.
        var seconds = quick ? 2 : 5;
        var rate = Math.Max(1, 50_000 / n);
        meter.Reset();
        var cpu0 = server.CpuSeconds();
        await server.BroadcastAsync(rate * seconds, rate);
        var expected = (long)rate * seconds * subscribers;
        await WaitAsync(() => meter.Delivered >= expected, seconds + 15);
        var fixedDelivered = meter.Delivered / (double)seconds;
        var (p50, p99, max) = meter.Latency();
        var lost = 1 - meter.Delivered / (double)expected;

        // (a) fan-out as fast as it goes: a burst, delivered messages per second until the last arrives.
        var burst = Math.Max(10, (quick ? 300_000 : 500_000) / n);
        meter.Reset();
        var start = DateTime.UtcNow.Ticks;
        await server.BroadcastAsync(burst, 0);
        var burstExpected = (long)burst * subscribers;
        await WaitAsync(() => meter.Delivered >= burstExpected, 60);
        var burstSeconds = Math.Max(1e-3, (meter.LastReceive - start) / 1e7);
        var burstDelivered = meter.Delivered / burstSeconds;
        var cpu = server.CpuSeconds() - cpu0;
        var jit2 = await server.JitAsync();
        var messages = expected + burstExpected;
        var peak = server.Memory().Peak / 1048576.0;
        // What the held connections keep once the burst is delivered: buffers sized for it that stay.
        await Task.Delay(quick ? 1000 : 2000);
        var afterBurst = (server.Memory().Rss - before) / (double)Math.Max(1, subscribers);
        Console.WriteLine($"   {kind} N={n}: connect {connectPerSecond:F0}/s, idle {idle / 1024:F1} KB/conn, fixed {fixedDelivered:F0}/s p50 {p50:F1} p99 {p99:F1} max {max:F1} ms, " +
                          $"burst {burstDelivered:F0}/s, after it {afterBurst / 1024:F1} KB/conn, cpu {cpu * 1e6 / messages:F2} µs/msg, peak {peak:F0} MB, lost {lost:P2}, " +
                          $"JIT while connecting {jit1.Methods - jit0.Methods} methods {jit1.Ms - jit0.Ms:F0} ms, while sending {jit2.Methods - jit1.Methods} methods {jit2.Ms - jit1.Ms:F0} ms");
        stop.Cancel();
        return new Result(kind, n, connectPerSecond, idle, rate, fixedDelivered, p50, p99, max, burstDelivered, cpu * 1e6 / messages, peak, lost, afterBurst);
    }

    private static async Task WaitAsync(Func<bool> condition, double seconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition() && DateTime.UtcNow < deadline) await Task.Delay(20);
    }
}

/// <summary>N subscribers of one kind, connected with a bounded number in flight.</summary>
internal sealed class Crowd(string kind, int[] ports, Meter meter, int n) : IAsyncDisposable
{
    internal Crowd(string kind, int port, Meter meter, int n) : this(kind, [port], meter, n)
    {
    }

    private readonly List<Subscriber> _subscribers = new();
    private readonly List<Task> _running = new();
    private readonly CancellationTokenSource _cts = new();

    internal int ReadyCount => _subscribers.Count(s => s.Ready);

    internal async Task ConnectAsync(CancellationToken token)
    {
        using var gate = new SemaphoreSlim(200);
        var giveUp = DateTime.UtcNow.AddSeconds(90);
        for (var i = 0; i < n && DateTime.UtcNow < giveUp; i++)
        {
            if (!await gate.WaitAsync(TimeSpan.FromSeconds(30), token)) break;
            var s = Subscriber.Create(kind, ports[i % ports.Length], meter); // several nodes: the subscribers spread over them
            _subscribers.Add(s);
            _running.Add(Task.Run(async () =>
            {
                var run = s.RunAsync(_cts.Token);
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (!s.Ready && !s.Failed && !run.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(5);
                gate.Release();
                try { await run; } catch (Exception) { s.Failed = true; }
            }));
        }
        var end = DateTime.UtcNow.AddSeconds(60);
        while (_subscribers.Count(s => s.Ready || s.Failed) < _subscribers.Count && DateTime.UtcNow < end) await Task.Delay(20);
        var failed = _subscribers.Count(s => s.Failed && !s.Ready);
        if (failed > 0) Console.WriteLine($"   {failed} of {n} {kind} subscribers failed to connect");
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        await Task.WhenAny(Task.WhenAll(_running), Task.Delay(5000));
        _cts.Dispose();
    }
}
