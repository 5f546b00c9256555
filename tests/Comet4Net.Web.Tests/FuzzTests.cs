using System.Net;
using System.Text;

namespace Comet4Net.Web.Tests;

/// <summary>Thousands of random and malformed requests: each gets a 2xx/4xx, and the server stays healthy.</summary>
[TestClass]
[DoNotParallelize] // a thousand sockets (or thousands of requests): alone, so that neither it nor its neighbours time out
public sealed class FuzzTests
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW", "G\u0001T", "GET GET"];
    private static readonly string[] Keys = ["cmd", "cid", "cs", "ack", "ws", "cv", "v", "token", "ram", "x", "", "cmd[]", "%00"];
    private static readonly string[] Commands = ["conn", "revival", "drop", "CONN", "", "conn\0", "revival%00", "../../etc"];

    private static string RandomValue(Random r, string? validCid)
    {
        return r.Next(14) switch
        {
            0 => Commands[r.Next(Commands.Length)],
            1 => validCid ?? "AAAAAAAAAAAAAAAAAAAAAA",
            2 => new string('x', r.Next(1, 6000)),
            3 => "-" + r.NextInt64(),
            4 => "99999999999999999999999999",
            5 => string.Concat(Enumerable.Range(0, r.Next(1, 40)).Select(_ => "%" + r.Next(256).ToString("X2", System.Globalization.CultureInfo.InvariantCulture))),
            6 => "%",
            7 => "%zz%",
            8 => Uri.EscapeDataString("你好<script>\"'"),
            9 => r.Next(-5, 5).ToString(System.Globalization.CultureInfo.InvariantCulture),
            10 => "2.0.0",
            11 => "0.1.7",
            12 => "sse",
            _ => "",
        };
    }

    private static (byte[] Bytes, bool Truncated) RandomRequest(Random r, string? validCid, string? validSecret)
    {
        var method = Methods[r.Next(Methods.Length)];
        var query = new StringBuilder();
        var pairs = r.Next(0, 7);
        for (var i = 0; i < pairs; i++)
        {
            if (i > 0) query.Append(r.Next(10) == 0 ? "&&" : "&");
            var key = Keys[r.Next(Keys.Length)];
            query.Append(key);
            if (r.Next(8) != 0) query.Append('=').Append(key == "cs" && validSecret is not null && r.Next(2) == 0 ? validSecret : RandomValue(r, validCid));
        }
        var path = r.Next(12) switch { 0 => "/conn/x", 1 => "/%00conn", 2 => "/conn;jsessionid=1", 3 => "//conn", _ => "/conn" };
        var head = new StringBuilder();
        head.Append(method).Append(' ').Append(path);
        if (query.Length > 0) head.Append('?').Append(query.ToString().Replace(" ", "%20"));
        head.Append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if (r.Next(5) == 0) head.Append("Last-Event-ID: ").Append(RandomValue(r, validCid).Replace("\r", "").Replace("\n", "")).Append("\r\n");
        if (r.Next(6) == 0) head.Append("User-Agent: Mozilla/5.0 Chrome/120\r\n");
        var body = Array.Empty<byte>();
        var declared = 0;
        switch (r.Next(5))
        {
            case 0:
                body = Encoding.UTF8.GetBytes("cmd=" + Commands[r.Next(Commands.Length)] + "&cv=2.0.0&cid=" + RandomValue(r, validCid));
                declared = r.Next(2) == 0 ? body.Length : body.Length + r.Next(1, 100); // sometimes truncated
                head.Append("Content-Type: application/x-www-form-urlencoded\r\n");
                break;
            case 1:
                body = new byte[r.Next(1, 3000)];
                r.NextBytes(body); // binary garbage
                declared = body.Length;
                head.Append("Content-Type: ").Append(r.Next(2) == 0 ? "application/x-www-form-urlencoded" : "multipart/form-data; boundary=xx").Append("\r\n");
                break;
        }
        if (declared > 0) head.Append("Content-Length: ").Append(declared).Append("\r\n");
        head.Append("Connection: close\r\n\r\n");
        return ([.. Encoding.UTF8.GetBytes(head.ToString()), .. body], declared > body.Length);
    }

    [TestMethod]
    [Timeout(120000, CooperativeCancellation = true)]
    public async Task Random_and_malformed_requests_get_4xx_or_2xx_and_leave_nothing_behind()
    {
        await using var server = await CometTestServer.StartAsync(o =>
        {
            o.Timeout = 200;
            o.ConnExpires = 300;
            o.ConnFrequency = 100;
            o.MaxConnectionsPerClient = 0;
        });
        var owner = new V2Client(server.Client);
        await owner.ConnectAsync("lpool");

        // Warm up, then measure memory around the fuzzing.
        await RunAsync(server, 200, seed: 1, owner);
        var memoryBefore = Settle();
        var statuses = await RunAsync(server, 3000, seed: 42, owner);
        TestContext.WriteLine("statuses: " + string.Join(", ", statuses.OrderBy(k => k.Key).Select(k => $"{k.Key}×{k.Value}")));
        var fivehundreds = statuses.Where(kv => kv.Key >= 500).Sum(kv => kv.Value);
        Assert.AreEqual(0, fivehundreds, "statuses: " + string.Join(", ", statuses.OrderBy(k => k.Key).Select(k => $"{k.Key}×{k.Value}")));
        Assert.IsGreaterThan(1000, statuses.Where(kv => kv.Key is >= 400 and < 500).Sum(kv => kv.Value));

        // Healthy: a normal client still works, and everything the fuzzing opened expires.
        await Wait.UntilAsync(() => server.Engine.ConnectionCount <= 1, 15, "the fuzzers' connections to expire");
        var fresh = new V2Client(server.Client);
        await fresh.ConnectAsync("lpool");
        server.Engine.SendToAll("hello", "alive");
        var (status, frames) = await fresh.PollAsync();
        Assert.AreEqual(HttpStatusCode.OK, status);
        Assert.AreEqual("alive", (string?)frames.Single()["data"]);
        var memoryAfter = Settle();
        Assert.IsLessThan(memoryBefore + 30 * 1024 * 1024, memoryAfter, $"managed memory grew from {memoryBefore} to {memoryAfter}");
    }

    public TestContext TestContext { get; set; } = null!;

    private static long Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(true);
    }

    private static async Task<Dictionary<int, int>> RunAsync(CometTestServer server, int count, int seed, V2Client owner)
    {
        var statuses = new Dictionary<int, int>();
        var uri = new Uri(server.BaseUrl);
        var next = -1;
        var workers = Enumerable.Range(0, 16).Select(async w =>
        {
            var r = new Random(seed * 100 + w);
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= count) return;
                var request = RandomRequest(r, r.Next(4) == 0 ? owner.Id : null, r.Next(4) == 0 ? owner.Secret : null);
                var status = await RawHttp.SendAsync(uri, request.Bytes, TimeSpan.FromSeconds(10), request.Truncated);
                lock (statuses) statuses[status] = statuses.GetValueOrDefault(status) + 1;
            }
        });
        await Task.WhenAll(workers);
        return statuses;
    }
}
