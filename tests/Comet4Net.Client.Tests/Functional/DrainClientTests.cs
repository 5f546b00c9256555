using System.Collections.Concurrent;
using Comet4Net.Tests.Shared;
using Comet4Net.Web.Tests;
using Microsoft.Extensions.DependencyInjection;

namespace Comet4Net.Client.Tests.Functional;

/// <summary>
/// The .NET client and a node that drains (its host stops, as on SIGTERM): two nodes on one Redis
/// behind round robin; the client, on each work style, is on the node that stops. It is told to move
/// (a <c>move</c> frame), resumes from its position on the other node, and loses nothing, repeats
/// nothing and hears of no gap; it never connects again as a new connection.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class DrainClientTests
{
    public TestContext TestContext { get; set; } = null!;

    private sealed record Number(int N);

    [TestMethod]
    [Timeout(90_000, CooperativeCancellation = true)]
    [DataRow("websocket")]
    [DataRow("stream")]
    [DataRow("sse")]
    [DataRow("lpool")]
    public async Task A_client_on_a_draining_node_moves_to_another_and_loses_nothing(string style)
    {
        if (!RedisServer.IsAvailable) Assert.Fail("redis-server is not installed: ./test.sh installs it (apt-get install redis-server).");
        var cancel = TestContext.CancellationToken;
        await using var redis = await RedisServer.StartAsync();
        var prefix = "d" + Guid.NewGuid().ToString("N")[..8] + ":";
        void Options(CometOptions o) { o.Heartbeat = 1000; o.Timeout = 20000; o.DrainTime = 1500; }
        await using var draining = await CometTestServer.StartAsync(Options, null, services: s => s.AddRedis(redis.Configuration, o => o.Prefix = prefix));
        await using var other = await CometTestServer.StartAsync(Options, null, services: s => s.AddRedis(redis.Configuration, o => o.Prefix = prefix));
        await using var proxy = await ChaosProxy.StartAsync(new Uri(draining.BaseUrl));
        proxy.Enabled = false;
        proxy.BlockWebSockets = false;
        proxy.FailTimeout = TimeSpan.FromSeconds(10); // a node that stopped listening is taken out, as nginx does
        proxy.Targets = [new Uri(draining.BaseUrl)];

        var log = new ListLogger();
        var received = new Received();
        var gaps = new ConcurrentQueue<CometGapEventArgs>();
        var starts = 0;
        await using var client = new CometClient(new Uri(proxy.Url + "/conn"), new CometClientOptions
        {
            Transport = style, Channels = ["news"], RetryBase = TimeSpan.FromMilliseconds(200), RetryMax = TimeSpan.FromSeconds(2),
        }, logger: log);
        client.On<Number>("news", (data, _) => { received.Add(data!.N); return ValueTask.CompletedTask; });
        client.Gap += (_, e) => gaps.Enqueue(e);
        client.Started += (_, _) => Interlocked.Increment(ref starts);
        await client.StartAsync(cancel);
        await Wait.UntilAsync(() => draining.Engine.Connections.Any(c => c.State == ConnectionState.Alive), 10, "the client is held on the node that will stop");
        proxy.Targets = [new Uri(draining.BaseUrl), new Uri(other.BaseUrl)]; // round robin from now on

        var diag = new ConcurrentQueue<string>();
        void D(string what) => diag.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {what}");
        draining.Engine.On<Events.DropEvent>(e => D("A drop " + e.Reason));
        const int Messages = 150;
        Task? stopping = null;
        for (var i = 1; i <= Messages; i++)
        {
            if (i == 40) { D("stop; A holds " + string.Join(",", draining.Engine.Connections.Select(c => c.State + "/" + c.WorkStyle)) + "; B holds " + string.Join(",", other.Engine.Connections.Select(c => c.State + "/" + c.WorkStyle))); stopping = draining.StopAsync(cancel).ContinueWith(t => D("stopped"), TaskScheduler.Default); } // SIGTERM's path: ApplicationStopping, then the drain, then the server stops
            await other.Engine.SendToAllAsync("news", new { n = i });
            await Task.Delay(20, cancel);
        }
        await stopping!;
        await Wait.UntilAsync(() => received.Count >= Messages, 30, $"{Messages} messages");
        TestContext.WriteLine(string.Join("\n", diag)); // when the stop began and ended, what each node held then
        TestContext.WriteLine($"{style}: sent {Messages}, received {received.Count}, duplicates {received.Duplicates}, gaps {gaps.Count}, starts {starts}; proxy {proxy.Requests} requests");
        received.AssertExactlyOnceInOrder(Messages, style);
        Assert.IsEmpty(gaps, "no gap: " + string.Join(", ", gaps.Select(g => $"{g.From}..{g.To}")));
        Assert.AreEqual(1, starts, "the client resumed its connection: it never had to connect again\n" + log);
        // Held on the stopping node, it gets the move frame; a long poller that round robin had sent
        // to the other node meanwhile finds the stopping one answering 503 draining instead.
        var text = log.ToString();
        Assert.IsTrue(text.Contains("ended: Moved ") || style == "lpool", "the client was told to move\n" + text + "\n" + string.Join("\n", diag));
    }
}
