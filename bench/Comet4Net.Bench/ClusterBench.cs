using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Comet4Net.Bench;

/// <summary>
/// bench/run.sh --cluster: Comet4Net's stream work style on one node against three nodes sharing one
/// Redis (subscribers spread over the nodes, every broadcast sent on one node), with server CPU per
/// delivered message (all nodes together) and Redis CPU per broadcast.
/// </summary>
internal static class ClusterBench
{
    private sealed record Row(string Setup, int N, double IdleKb, double P50, double P99, double Burst, double CpuMicros, double RedisMicrosPerBroadcast, double Lost);

    internal static async Task<int> RunAsync(string root, bool quick, int repeat)
    {
        var serverDll = Path.Combine(root, "bench", "Comet4Net.Bench.Server", "bin", "Release", "net10.0", "Comet4Net.Bench.Server.dll");
        var n = 10_000;
        var rows = new List<Row>();
        foreach (var nodes in new[] { 1, 3 })
        {
            var runs = new List<Row>();
            for (var i = 0; i < repeat; i++)
            {
                Console.WriteLine($"== {nodes} node(s){(nodes > 1 ? " on Redis" : "")}, {n} subscribers, run {i + 1}/{repeat}");
                runs.Add(await RunOnceAsync(serverDll, nodes, n, quick));
            }
            double M(Func<Row, double> f) { var v = runs.Select(f).OrderBy(x => x).ToArray(); return v[v.Length / 2]; }
            rows.Add(new Row(runs[0].Setup, n, M(r => r.IdleKb), M(r => r.P50), M(r => r.P99), M(r => r.Burst), M(r => r.CpuMicros), M(r => r.RedisMicrosPerBroadcast), M(r => r.Lost)));
        }
        var table = Table(rows, repeat);
        Console.WriteLine();
        Console.WriteLine(table);
        Directory.CreateDirectory(Path.Combine(root, "bench", "results"));
        File.WriteAllText(Path.Combine(root, "bench", "results", "cluster.md"), table);
        var one = rows[0];
        var three = rows[1];
        Console.WriteLine(FormattableString.Invariant(
            $"summary: cluster3/one throughput={three.Burst / one.Burst:F2} cpu/msg={three.CpuMicros / one.CpuMicros:F2} redis cpu/broadcast={three.RedisMicrosPerBroadcast:F0} µs"));
        return 0;
    }

    private static async Task<Row> RunOnceAsync(string serverDll, int nodes, int n, bool quick)
    {
        var redisPort = 0;
        using var redis = nodes > 1 ? StartRedis(out redisPort) : null;
        var environment = redis is null ? null : new Dictionary<string, string> { ["Comet__Redis"] = $"127.0.0.1:{redisPort}" };
        var servers = new List<ServerProcess>();
        try
        {
            for (var i = 0; i < nodes; i++) servers.Add(await ServerProcess.StartAsync(serverDll, "comet", environment));
            var ports = servers.Select(s => s.Port).ToArray();
            var meter = new Meter();
            using var stop = new CancellationTokenSource();
            await using (var warm = new Crowd("comet-stream", ports, meter, 60))
            {
                await warm.ConnectAsync(stop.Token);
                await servers[0].BroadcastAsync(200, 0);
                await WaitAsync(() => meter.Delivered >= 200 * 60, 15);
            }
            await Task.Delay(500);
            var before = servers.Sum(s => s.Memory().Rss);
            await using var crowd = new Crowd("comet-stream", ports, meter, n);
            await crowd.ConnectAsync(stop.Token);
            await Task.Delay(quick ? 1000 : 2000);
            var subscribers = crowd.ReadyCount;
            var idle = (servers.Sum(s => s.Memory().Rss) - before) / (double)Math.Max(1, subscribers);

            var seconds = quick ? 2 : 5;
            var rate = Math.Max(1, 50_000 / n);
            meter.Reset();
            var cpu0 = servers.Sum(s => s.CpuSeconds());
            var redis0 = redis is null ? 0 : ServerProcess.CpuSecondsOf(redis.Id);
            await servers[0].BroadcastAsync(rate * seconds, rate);
            var expected = (long)rate * seconds * subscribers;
            await WaitAsync(() => meter.Delivered >= expected, seconds + 20);
            var (p50, p99, _) = meter.Latency();
            var lost = 1 - meter.Delivered / (double)expected;

            var burst = Math.Max(10, (quick ? 300_000 : 500_000) / n);
            meter.Reset();
            var start = DateTime.UtcNow.Ticks;
            await servers[0].BroadcastAsync(burst, 0);
            var burstExpected = (long)burst * subscribers;
            await WaitAsync(() => meter.Delivered >= burstExpected, 90);
            var burstDelivered = meter.Delivered / Math.Max(1e-3, (meter.LastReceive - start) / 1e7);
            var cpu = servers.Sum(s => s.CpuSeconds()) - cpu0;
            var redisCpu = redis is null ? 0 : ServerProcess.CpuSecondsOf(redis.Id) - redis0;
            var broadcasts = rate * seconds + burst;
            var row = new Row(nodes == 1 ? "1 node" : $"{nodes} nodes on Redis", n, idle / 1024, p50, p99, burstDelivered,
                cpu * 1e6 / (expected + burstExpected), redisCpu * 1e6 / broadcasts, lost);
            Console.WriteLine(FormattableString.Invariant(
                $"   {row.Setup}: idle {row.IdleKb:F1} KB/conn, p50 {p50:F1} p99 {p99:F1} ms, burst {burstDelivered:F0}/s, cpu {row.CpuMicros:F2} µs/msg, redis {row.RedisMicrosPerBroadcast:F0} µs/broadcast, lost {lost:P2}"));
            stop.Cancel();
            return row;
        }
        finally
        {
            foreach (var server in servers) await server.DisposeAsync();
            if (redis is not null && !redis.HasExited) { redis.Kill(); redis.WaitForExit(5000); }
        }
    }

    internal static Process StartRedis(out int port)
    {
        var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var info = new ProcessStartInfo("redis-server", $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no") { RedirectStandardOutput = true, UseShellExecute = false };
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try { using var c = new TcpClient(); c.Connect(System.Net.IPAddress.Loopback, port); return process; }
            catch (SocketException) { Thread.Sleep(50); }
        }
        throw new InvalidOperationException("redis-server did not start (apt-get install redis-server).");
    }

    private static async Task WaitAsync(Func<bool> condition, double seconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition() && DateTime.UtcNow < deadline) await Task.Delay(20);
    }

    private static string Table(List<Row> rows, int repeat)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Comet4Net, stream work style, {rows[0].N} subscribers spread over the nodes, median of {repeat} run(s):");
        sb.AppendLine();
        sb.Append("| figure | ").Append(string.Join(" | ", rows.Select(r => r.Setup))).AppendLine(" |");
        sb.Append("|---|").Append(string.Concat(rows.Select(_ => "---:|"))).AppendLine();
        void Line(string name, Func<Row, double> get, string format) =>
            sb.Append("| ").Append(name).Append(" | ").Append(string.Join(" | ", rows.Select(r => get(r).ToString(format, CultureInfo.InvariantCulture)))).AppendLine(" |");
        Line("idle memory per connection, all nodes (KB)", r => r.IdleKb, "F1");
        Line("fixed rate: latency p50 (ms)", r => r.P50, "F1");
        Line("fixed rate: latency p99 (ms)", r => r.P99, "F1");
        Line("burst: delivered messages/s", r => r.Burst, "F0");
        Line("server CPU per delivered message, all nodes (µs)", r => r.CpuMicros, "F2");
        Line("Redis CPU per broadcast (µs)", r => r.RedisMicrosPerBroadcast, "F0");
        Line("not delivered in time (%)", r => r.Lost * 100, "F2");
        return sb.ToString();
    }
}
