using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Comet4Net.Bench;

/// <summary>
/// bench/run.sh --cluster --costs: the inputs of docs/scaling.md, on one Redis and three nodes (a sender,
/// two readers), every figure a difference between two samples of /proc and of Redis's INFO commandstats:
/// Redis CPU and commands per idle connection (per second), per broadcast at a fixed rate, the appends per
/// second one node gets into Redis through the group commit (SendToAllAsync, many at a time), and what a
/// node that reads the whole log spends per message that it delivers to nobody.
/// </summary>
internal static class ClusterCosts
{
    private sealed record Sample(double RedisCpu, double[] NodeCpu, Dictionary<string, long> Calls, DateTime At);

    internal static async Task<int> RunAsync(string serverDll, string results, bool quick)
    {
        var connections = quick ? 3_000 : 6_000;
        var window = quick ? 6 : 10;
        var rate = 1_000;
        var appends = quick ? 50_000 : 100_000;
        using var redis = ClusterBench.StartRedis(out var redisPort);
        var environment = new Dictionary<string, string> { ["Comet__Redis"] = $"127.0.0.1:{redisPort}" };
        var nodes = new List<ServerProcess>();
        var report = new StringBuilder();
        void Line(string text)
        {
            Console.WriteLine("   " + text);
            report.AppendLine(CultureInfo.InvariantCulture, $"| {text.Replace(": ", " | ", StringComparison.Ordinal)} |");
        }
        try
        {
            for (var i = 0; i < 3; i++) nodes.Add(await ServerProcess.StartAsync(serverDll, "comet", environment));
            var sender = nodes[0];
            await Task.Delay(2000); // the nodes' first writes (epoch, presence) out of the way

            Console.WriteLine($"== idle, no connections, {window} s");
            var idle = await WindowAsync(redisPort, redis.Id, nodes, () => Task.Delay(window * 1000));
            var seconds = Seconds(idle);
            var idleRedis = Cpu(idle.A.RedisCpu, idle.B.RedisCpu) / seconds;
            var idleReader = (Cpu(idle.A.NodeCpu[1], idle.B.NodeCpu[1]) + Cpu(idle.A.NodeCpu[2], idle.B.NodeCpu[2])) / 2 / seconds;
            Line(F($"idle cluster, no connection: Redis CPU {idleRedis * 1e3:F2} ms/s, {Calls(idle) / seconds:F0} commands/s ({Top(idle, seconds)}); a node {idleReader * 1e3:F2} ms CPU/s"));

            Console.WriteLine($"== {rate} broadcasts/s on one node for {window} s, no subscriber anywhere");
            var paced = await WindowAsync(redisPort, redis.Id, nodes, async () =>
            {
                await sender.BroadcastAsync(rate * window, rate);
                await Task.Delay(window * 1000 + 1500);
            });
            seconds = Seconds(paced);
            double sent = rate * window;
            var redisPer = (Cpu(paced.A.RedisCpu, paced.B.RedisCpu) - idleRedis * seconds) / sent;
            var readerPer = ((Cpu(paced.A.NodeCpu[1], paced.B.NodeCpu[1]) + Cpu(paced.A.NodeCpu[2], paced.B.NodeCpu[2])) / 2 - idleReader * seconds) / sent;
            var senderPer = (Cpu(paced.A.NodeCpu[0], paced.B.NodeCpu[0]) - idleReader * seconds) / sent;
            Line(F($"per broadcast at {rate}/s: Redis CPU {redisPer * 1e6:F1} µs, {Scripts(paced) / sent:F3} script calls, {(Calls(paced) - Calls(idle) / Seconds(idle) * seconds) / sent:F2} commands counting those inside scripts ({Top(paced, sent)} per message); sending node {senderPer * 1e6:F1} µs; a node that reads it and delivers to nobody {readerPer * 1e6:F1} µs"));

            Console.WriteLine($"== {appends} SendToAllAsync on one node, 64 at a time");
            double appendSeconds = 0;
            var hammer = await WindowAsync(redisPort, redis.Id, nodes, async () =>
            {
                using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{sender.Port}"), Timeout = TimeSpan.FromMinutes(5) };
                using var answer = await http.PostAsync($"/bench/append?count={appends}&concurrency=64", null);
                answer.EnsureSuccessStatusCode();
                appendSeconds = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("seconds").GetDouble();
                await Task.Delay(1500); // the readers catch up
            });
            seconds = Seconds(hammer);
            var hammerRedis = Cpu(hammer.A.RedisCpu, hammer.B.RedisCpu);
            var hammerReader = (Cpu(hammer.A.NodeCpu[1], hammer.B.NodeCpu[1]) + Cpu(hammer.A.NodeCpu[2], hammer.B.NodeCpu[2])) / 2;
            Line(F($"appends through one node (group commit): {appends / appendSeconds:F0}/s ({appends} in {appendSeconds:F1} s); Redis CPU {hammerRedis * 1e6 / appends:F1} µs per append ({hammerRedis / appendSeconds:P0} of a core), {Scripts(hammer) / (double)appends:F4} script calls and {Calls(hammer) / (double)appends:F3} commands per append ({Top(hammer, appends)}); a reading node {hammerReader * 1e6 / appends:F1} µs per message ({hammerReader / seconds:P0} of a core)"));

            Console.WriteLine($"== {connections} idle stream subscribers on the two reading nodes, {window} s");
            var meter = new Meter();
            using var stop = new CancellationTokenSource();
            var rss0 = nodes.Sum(n => n.Memory().Rss);
            var redisMemory0 = RedisMemory(redisPort);
            await using var crowd = new Crowd("comet-stream", [nodes[1].Port, nodes[2].Port], meter, connections);
            await crowd.ConnectAsync(stop.Token);
            await Task.Delay(3000);
            var held = crowd.ReadyCount;
            var rss = (nodes.Sum(n => n.Memory().Rss) - rss0) / (double)Math.Max(1, held);
            var redisPerConnection = (RedisMemory(redisPort) - redisMemory0) / (double)Math.Max(1, held);
            var busy = await WindowAsync(redisPort, redis.Id, nodes, () => Task.Delay(window * 1000));
            seconds = Seconds(busy);
            var perConnRedis = (Cpu(busy.A.RedisCpu, busy.B.RedisCpu) / seconds - idleRedis) / held;
            var perConnCalls = (Calls(busy) / seconds - Calls(idle) / Seconds(idle)) / held;
            var perConnNode = ((Cpu(busy.A.NodeCpu[1], busy.B.NodeCpu[1]) + Cpu(busy.A.NodeCpu[2], busy.B.NodeCpu[2])) / seconds - 2 * idleReader) / held;
            Line(F($"per idle connection ({held} held): node memory {rss / 1024:F1} KB; node CPU {perConnNode * 1e6:F1} µs/s; Redis CPU {perConnRedis * 1e6:F2} µs/s, {perConnCalls:F3} commands/s ({Top(busy, held * seconds)} per connection-second); Redis memory {redisPerConnection / 1024:F2} KB per connection (session, presence)"));
            stop.Cancel();
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
            if (!redis.HasExited) { redis.Kill(); redis.WaitForExit(5000); }
        }
        var table = "Comet4Net on one Redis, three nodes (a sender, two readers), `bench/run.sh --cluster --costs" + (quick ? " --quick" : "") + "`:\n\n| figure | value |\n|---|---|\n" + report;
        File.WriteAllText(Path.Combine(results, "cluster-costs.md"), table);
        Console.WriteLine();
        Console.WriteLine(table);
        return 0;
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static double Cpu(double a, double b) => b - a;

    private static double Seconds((Sample A, Sample B) w) => (w.B.At - w.A.At).TotalSeconds;

    private static long Calls((Sample A, Sample B) w) =>
        w.B.Calls.Sum(kv => kv.Value - w.A.Calls.GetValueOrDefault(kv.Key)) - 1; // less the INFO that sampled

    /// <summary>Script calls (EVAL, EVALSHA: one round trip each, whatever they run inside) in the window.</summary>
    private static long Scripts((Sample A, Sample B) w) =>
        new[] { "eval", "evalsha" }.Sum(k => w.B.Calls.GetValueOrDefault(k) - w.A.Calls.GetValueOrDefault(k));

    /// <summary>The commands that ran most in the window, each per <paramref name="per"/> (seconds, messages, connection-seconds).</summary>
    private static string Top((Sample A, Sample B) w, double per) =>
        string.Join(", ", w.B.Calls.Select(kv => (kv.Key, Calls: kv.Value - w.A.Calls.GetValueOrDefault(kv.Key)))
            .Where(c => c.Key != "info" && c.Calls > 0).OrderByDescending(c => c.Calls).Take(5)
            .Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key} {c.Calls / per:G3}")));

    private static async Task<(Sample A, Sample B)> WindowAsync(int port, int redisPid, List<ServerProcess> nodes, Func<Task> during)
    {
        var a = Take(port, redisPid, nodes);
        await during();
        return (a, Take(port, redisPid, nodes));
    }

    private static Sample Take(int port, int redisPid, List<ServerProcess> nodes) =>
        new(ServerProcess.CpuSecondsOf(redisPid), nodes.Select(n => n.CpuSeconds()).ToArray(), CommandStats(port), DateTime.UtcNow);

    /// <summary>INFO commandstats: calls per command.</summary>
    private static Dictionary<string, long> CommandStats(int port)
    {
        var calls = new Dictionary<string, long>();
        foreach (var line in Info(port, "commandstats").Split('\n'))
        {
            // cmdstat_evalsha:calls=12,usec=345,...
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal)) continue;
            var name = line[8..line.IndexOf(':')];
            var value = line.Split(':')[1].Split(',')[0].Split('=')[1];
            calls[name] = long.Parse(value, CultureInfo.InvariantCulture);
        }
        return calls;
    }

    private static long RedisMemory(int port)
    {
        foreach (var line in Info(port, "memory").Split('\n'))
            if (line.StartsWith("used_memory:", StringComparison.Ordinal)) return long.Parse(line[12..].Trim(), CultureInfo.InvariantCulture);
        return 0;
    }

    /// <summary>One INFO section, read over RESP on a connection of its own.</summary>
    private static string Info(int port, string section)
    {
        using var client = new TcpClient();
        client.Connect(System.Net.IPAddress.Loopback, port);
        using var stream = client.GetStream();
        stream.Write(Encoding.ASCII.GetBytes($"INFO {section}\r\n"));
        var buffer = new byte[1 << 16];
        var received = new MemoryStream();
        int? length = null;
        var headerEnd = 0;
        while (length is null || received.Length < headerEnd + length)
        {
            var read = stream.Read(buffer);
            if (read == 0) break;
            received.Write(buffer, 0, read);
            if (length is null)
            {
                var text = Encoding.ASCII.GetString(received.ToArray());
                var crlf = text.IndexOf("\r\n", StringComparison.Ordinal);
                if (crlf > 0)
                {
                    length = int.Parse(text[1..crlf], CultureInfo.InvariantCulture);
                    headerEnd = crlf + 2;
                }
            }
        }
        return Encoding.ASCII.GetString(received.ToArray(), headerEnd, (int)Math.Min(length ?? 0, received.Length - headerEnd));
    }
}
