using System.Collections.Concurrent;
using Comet4Net.Events;
using Comet4Net.Tests.Shared;
using Comet4Net.Web.Tests;

namespace Comet4Net.Client.Tests.Functional;

/// <summary>The .NET client against a real Comet4Net server on loopback (Kestrel), directly and through a faulty proxy.</summary>
[TestClass]
public sealed class ClientTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>A client of <paramref name="url"/> that counts the numbered messages of "news" ({"n":…}).</summary>
    private sealed class Probe : IAsyncDisposable
    {
        internal readonly CometClient Client;
        internal readonly Received Received = new();
        internal readonly ConcurrentQueue<CometGapEventArgs> Gaps = new();
        internal readonly ConcurrentQueue<CometStartedEventArgs> Starts = new();
        internal readonly ConcurrentQueue<CometTransportChangedEventArgs> Changes = new();
        internal readonly TaskCompletionSource<CometStoppedEventArgs> Stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
        internal readonly ListLogger Log = new();

        internal Probe(string url, string transport, params string[] channels)
        {
            Client = new CometClient(new Uri(url + "/conn"), new CometClientOptions
            {
                Transport = transport,
                Channels = [.. channels],
                RetryBase = TimeSpan.FromMilliseconds(200),
                RetryMax = TimeSpan.FromSeconds(2),
            }, logger: Log);
            Client.On<Number>("news", (data, _) =>
            {
                Received.Add(data!.N);
                return ValueTask.CompletedTask;
            });
            Client.Gap += (_, e) => Gaps.Enqueue(e);
            Client.Started += (_, e) => Starts.Enqueue(e);
            Client.TransportChanged += (_, e) => Changes.Enqueue(e);
            Client.Stopped += (_, e) => Stopped.TrySetResult(e);
        }

        public ValueTask DisposeAsync() => Client.DisposeAsync();
    }

    internal sealed record Number(int N);

    private static void Send(CometTestServer server, int from, int to)
    {
        for (var i = from; i <= to; i++) server.Engine.SendToAll("news", new { n = i });
    }

    private static async Task SendSpreadAsync(CometTestServer server, int from, int to, int delayMs, CancellationToken cancellationToken)
    {
        for (var i = from; i <= to; i++)
        {
            server.Engine.SendToAll("news", new { n = i });
            await Task.Delay(delayMs, cancellationToken);
        }
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    [DataRow("websocket", CometTransport.WebSocket)]
    [DataRow("stream", CometTransport.Stream)]
    [DataRow("sse", CometTransport.Sse)]
    [DataRow("lpool", CometTransport.LongPolling)]
    [DataRow("auto", CometTransport.WebSocket)]
    public async Task Every_work_style_receives_every_message_once_in_order(string style, CometTransport expected)
    {
        await using var server = await CometTestServer.StartAsync(o => { o.Heartbeat = 1000; o.Timeout = 2000; });
        await using var probe = new Probe(server.BaseUrl, style, "news");
        await probe.Client.StartAsync(TestContext.CancellationToken);
        Assert.AreEqual(expected, probe.Client.Transport);
        await SendSpreadAsync(server, 1, 200, 15, TestContext.CancellationToken);
        await Wait.UntilAsync(() => probe.Received.Count >= 200, 30, "200 messages");
        await Task.Delay(300, TestContext.CancellationToken);
        probe.Received.AssertExactlyOnceInOrder(200, style);
        Assert.AreEqual(expected, probe.Client.Transport, "the client moved: " + string.Join("; ", probe.Changes.Select(c => c.Reason)));
        Assert.IsEmpty(probe.Gaps);
        TestContext.WriteLine($"{style}: {probe.Received.Summary(200)}, transport {probe.Client.Transport}");
    }

    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    [DataRow("auto")]
    [DataRow("stream")]
    [DataRow("sse")]
    [DataRow("lpool")]
    public async Task Through_a_proxy_that_cuts_answers_every_message_arrives_once_in_order(string style)
    {
        await using var server = await CometTestServer.StartAsync(o => { o.Heartbeat = 500; o.Timeout = 2000; o.MaxConnectionsPerClient = 0; });
        await using var proxy = await ChaosProxy.StartAsync(new Uri(server.BaseUrl), seed: style.Length);
        proxy.BlockWebSockets = false;
        proxy.CutRate = 0.1;
        proxy.ChunkCutRate = 0.03;
        await using var probe = new Probe(proxy.Url, style, "news");
        await probe.Client.StartAsync(TestContext.CancellationToken);
        await SendSpreadAsync(server, 1, 400, 10, TestContext.CancellationToken);
        await Wait.UntilAsync(() => probe.Received.Count >= 400, 60, "400 messages");
        await Task.Delay(300, TestContext.CancellationToken);
        TestContext.WriteLine($"{style}: {probe.Received.Summary(400)}; proxy: {proxy.Requests} requests, {proxy.Cuts} cuts; transport {probe.Client.Transport}");
        probe.Received.AssertExactlyOnceInOrder(400, style);
        Assert.IsEmpty(probe.Gaps);
        Assert.IsGreaterThanOrEqualTo(2, proxy.Cuts, "the proxy must have cut answers");
    }

    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    public async Task A_20_second_outage_loses_nothing()
    {
        await using var server = await CometTestServer.StartAsync(o => { o.Heartbeat = 1000; o.Timeout = 5000; });
        await using var proxy = await ChaosProxy.StartAsync(new Uri(server.BaseUrl));
        proxy.Enabled = false;
        proxy.BlockWebSockets = false;
        await using var probe = new Probe(proxy.Url, "auto", "news");
        await probe.Client.StartAsync(TestContext.CancellationToken);
        var cid = probe.Client.ConnectionId!;
        await SendSpreadAsync(server, 1, 50, 10, TestContext.CancellationToken);
        var outage = proxy.OutageAsync(TimeSpan.FromSeconds(20), TestContext.CancellationToken);
        await SendSpreadAsync(server, 51, 150, 150, TestContext.CancellationToken); // ~15 s of the outage
        // The server dropped the connection (away past ConnExpires) but keeps its session for the resume window.
        Assert.IsNull(server.Engine.GetConnection(cid), "the server should have dropped the connection during the outage");
        await outage;
        await SendSpreadAsync(server, 151, 200, 10, TestContext.CancellationToken);
        await Wait.UntilAsync(() => probe.Received.Count >= 200, 30, "200 messages after the outage");
        await Task.Delay(300, TestContext.CancellationToken);
        TestContext.WriteLine($"outage: {probe.Received.Summary(200)}, {proxy.OutageCuts} cut by the outage, transport {probe.Client.Transport}");
        probe.Received.AssertExactlyOnceInOrder(200, "outage");
        Assert.IsEmpty(probe.Gaps);
        Assert.AreEqual(cid, probe.Client.ConnectionId, "the same connection resumed");
        Assert.HasCount(1, probe.Starts);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    [DataRow("auto")]
    [DataRow("stream")]
    [DataRow("sse")]
    [DataRow("lpool")]
    [DataRow("websocket")]
    public async Task A_restarted_server_is_a_gap_and_a_new_connection(string style)
    {
        var first = await CometTestServer.StartAsync(o => { o.Heartbeat = 1000; o.Timeout = 3000; });
        await using var proxy = await ChaosProxy.StartAsync(new Uri(first.BaseUrl));
        proxy.Enabled = false;
        proxy.BlockWebSockets = false;
        await using var probe = new Probe(proxy.Url, style, "news");
        await probe.Client.StartAsync(TestContext.CancellationToken);
        Send(first, 1, 1);
        await Wait.UntilAsync(() => probe.Received.Count == 1, 10, "the first message");
        var before = probe.Client.LastSequence;
        await first.DisposeAsync();
        await using var second = await CometTestServer.StartAsync(o => { o.Heartbeat = 1000; o.Timeout = 3000; });
        proxy.Target = new Uri(second.BaseUrl);
        await Wait.UntilAsync(() => probe.Starts.Count == 2, 30, "a new connection on the new server");
        Send(second, 2, 3);
        await Wait.UntilAsync(() => probe.Received.Count == 3, 10, "the messages of the new server");
        probe.Received.AssertExactlyOnceInOrder(3, "restart");
        var gap = probe.Gaps.Single();
        Assert.AreEqual(("reset", before + 1, (long?)null), (gap.Reason, gap.From, gap.To));
        Assert.AreNotEqual(probe.Starts.First().ConnectionId, probe.Client.ConnectionId);
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    [DataRow("websocket")]
    [DataRow("stream")]
    [DataRow("sse")]
    [DataRow("lpool")]
    public async Task A_kicked_client_stops_with_the_reason_and_does_not_come_back(string style)
    {
        await using var server = await CometTestServer.StartAsync(o => { o.Heartbeat = 1000; o.Timeout = 3000; });
        await using var probe = new Probe(server.BaseUrl, style, "news");
        var messages = new List<CometMessage>();
        // The call makes the buffer (the first iteration would be too late: beside busy CPUs the Task.Run below may
        // start after the first message came, and ReadAllAsync buffers from its call on).
        var all = probe.Client.ReadAllAsync(TestContext.CancellationToken);
        var reading = Task.Run(async () => { await foreach (var m in all) messages.Add(m); });
        await probe.Client.StartAsync(TestContext.CancellationToken);
        Send(server, 1, 1);
        await Wait.UntilAsync(() => probe.Received.Count == 1, 10, "the first message");
        var cid = probe.Client.ConnectionId!;
        Assert.IsTrue(server.Engine.KickConnection(cid, "bye"));
        var stopped = await probe.Stopped.Task.WaitAsync(TimeSpan.FromSeconds(15), TestContext.CancellationToken);
        Assert.AreEqual(CometStopReason.Kicked, stopped.Reason);
        Assert.AreEqual("bye", stopped.Message);
        Assert.AreEqual(CometClientState.Stopped, probe.Client.State);
        await reading.WaitAsync(TimeSpan.FromSeconds(5), TestContext.CancellationToken); // ReadAllAsync ends
        Assert.HasCount(1, messages);
        await Task.Delay(500, TestContext.CancellationToken);
        Assert.IsFalse(server.Engine.ConnectionExists(cid));
        Assert.HasCount(1, probe.Starts, "a kicked client does not connect again");
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task A_refused_subscription_is_reported_and_its_messages_never_arrive()
    {
        await using var server = await CometTestServer.StartAsync(o => { o.Heartbeat = 1000; }, c =>
        {
            c.RegisterChannel("secret");
            c.Engine.On<SubscribeEvent>(e => e.Channel != "secret");
        });
        await using var probe = new Probe(server.BaseUrl, "auto", "news", "secret");
        var secrets = 0;
        probe.Client.On("secret", _ => Interlocked.Increment(ref secrets));
        await probe.Client.StartAsync(TestContext.CancellationToken);
        CollectionAssert.AreEqual(new[] { "secret" }, probe.Starts.Single().Refused.ToArray());
        var refused = await Assert.ThrowsAsync<CometCommandException>(() => probe.Client.SubscribeAsync("secret", cancellationToken: TestContext.CancellationToken));
        Assert.IsTrue(refused.IsRefused);
        Assert.AreEqual("refused", refused.Error);
        server.Engine.SendToAll("secret", new { n = 0 });
        Send(server, 1, 1);
        await Wait.UntilAsync(() => probe.Received.Count == 1, 10, "the news");
        await Task.Delay(300, TestContext.CancellationToken);
        Assert.AreEqual(0, secrets);
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    [DataRow("websocket")]
    [DataRow("lpool")]
    public async Task Subscribe_with_history_publish_count_and_stop_drops_the_connection(string style)
    {
        await using var server = await CometTestServer.StartAsync(o => { o.Heartbeat = 1000; }, c =>
            c.RegisterChannel("room", new ChannelOptions { HistoryCount = 20, AllowPublish = true, AllowCount = true }));
        server.Engine.SendToAll("room", new { text = "before" });
        await using var probe = new Probe(server.BaseUrl, style, "news");
        var room = new ConcurrentQueue<CometMessage>();
        probe.Client.On("room", m => room.Enqueue(m));
        await probe.Client.StartAsync(TestContext.CancellationToken);
        var cid = probe.Client.ConnectionId!;

        var history = await probe.Client.SubscribeAsync("room", 5, TestContext.CancellationToken);
        Assert.AreEqual("before", history.Single().Data.GetProperty("text").GetString());
        Assert.IsTrue(history.Single().History);
        var count = await probe.Client.CountAsync("room", TestContext.CancellationToken);
        Assert.AreEqual(1, count.Connections);
        var said = new ConcurrentQueue<CometMessage>();
        probe.Client.On("room.say", m => said.Enqueue(m));
        var published = await probe.Client.PublishAsync("room", new { text = "hi" }, "say", TestContext.CancellationToken);
        Assert.IsGreaterThan(0L, published.Seq);
        Assert.AreEqual(1, published.Delivered);
        await Wait.UntilAsync(() => !said.IsEmpty, 10, "the published message");
        Assert.AreEqual(("hi", published.Seq, cid), (said.Single().Data.GetProperty("text").GetString(), said.Single().Seq, said.Single().From));
        await Assert.ThrowsAsync<CometCommandException>(() => probe.Client.PublishAsync("news", new { n = 1 }, cancellationToken: TestContext.CancellationToken));

        await probe.Client.UnsubscribeAsync("room", TestContext.CancellationToken);
        Assert.AreEqual(0, (await probe.Client.CountAsync("room", TestContext.CancellationToken)).Connections);
        await probe.Client.StopAsync(TestContext.CancellationToken);
        Assert.IsFalse(server.Engine.ConnectionExists(cid), "StopAsync sends cmd=drop");
        Assert.AreEqual(CometStopReason.Stopped, (await probe.Stopped.Task).Reason);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    [DataRow("websocket")]
    [DataRow("stream")]
    [DataRow("sse")]
    public async Task A_transport_silent_past_its_heartbeat_is_revived_and_nothing_is_lost(string style)
    {
        await using var server = await CometTestServer.StartAsync(o => { o.Heartbeat = 500; o.Timeout = 30000; o.MaxConnectionsPerClient = 0; });
        await using var proxy = new CuttingProxy(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, new Uri(server.BaseUrl).Port))
        {
            MinLife = TimeSpan.FromMinutes(10),
            MaxLife = TimeSpan.FromMinutes(10),
        };
        await using var client = new CometClient(new Uri(proxy.Url + "/conn"), new CometClientOptions
        {
            Transport = style,
            Channels = ["news"],
            HeartbeatMargin = TimeSpan.FromSeconds(1),
            OpenTimeout = TimeSpan.FromSeconds(3),
            RetryBase = TimeSpan.FromMilliseconds(200),
            RetryMax = TimeSpan.FromSeconds(1),
        });
        var received = new Received();
        client.On<Number>("news", (n, _) => { received.Add(n!.N); return ValueTask.CompletedTask; });
        var states = new ConcurrentQueue<CometClientState>();
        client.StateChanged += (_, s) => states.Enqueue(s);
        await client.StartAsync(TestContext.CancellationToken);
        Send(server, 1, 20);
        await Wait.UntilAsync(() => received.Count == 20, 10, "the first messages");
        var connections = proxy.Connections;
        proxy.Frozen = true; // the connection stays open, but nothing comes: not even the heartbeats
        Send(server, 21, 40);
        var frozenAt = DateTime.UtcNow;
        states.Clear();
        await Wait.UntilAsync(() => states.Contains(CometClientState.Waiting) || states.Contains(CometClientState.Opening), 10, "the silence to be noticed");
        var noticed = DateTime.UtcNow - frozenAt;
        await Task.Delay(2000, TestContext.CancellationToken);
        proxy.Frozen = false;
        Send(server, 41, 60);
        await Wait.UntilAsync(() => received.Count >= 60, 30, "every message after the silence");
        await Task.Delay(300, TestContext.CancellationToken);
        TestContext.WriteLine($"{style}: silence noticed after {noticed.TotalSeconds:0.0} s; {received.Summary(60)}; {proxy.Connections - connections} new connections");
        received.AssertExactlyOnceInOrder(60, style);
        Assert.IsLessThan(TimeSpan.FromSeconds(5), noticed, "heartbeat 0.5 s x 1.5 + 1 s margin");
        Assert.IsGreaterThan(connections, proxy.Connections, "the client opened a new connection");
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task A_path_that_does_not_carry_WebSockets_hands_over_to_the_stream()
    {
        await using var server = await CometTestServer.StartAsync(o => { o.Heartbeat = 1000; });
        await using var proxy = await ChaosProxy.StartAsync(new Uri(server.BaseUrl));
        proxy.Enabled = false; // and BlockWebSockets: upgrades are answered 502
        await using var probe = new Probe(proxy.Url, "auto", "news");
        await probe.Client.StartAsync(TestContext.CancellationToken);
        Send(server, 1, 10);
        await Wait.UntilAsync(() => probe.Received.Count == 10, 10, "the messages");
        probe.Received.AssertExactlyOnceInOrder(10, "fallback");
        Assert.AreEqual(CometTransport.Stream, probe.Client.Transport);
        var change = probe.Changes.Last();
        Assert.AreEqual((CometTransport?)CometTransport.WebSocket, change.Previous);
        Assert.AreEqual(CometTransport.Stream, change.Current);
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task A_forced_WebSocket_the_path_does_not_carry_backs_off_rather_than_hammering()
    {
        await using var server = await CometTestServer.StartAsync(o => { o.Heartbeat = 1000; });
        await using var proxy = await ChaosProxy.StartAsync(new Uri(server.BaseUrl));
        proxy.Enabled = false; // and BlockWebSockets: upgrades are answered 502
        await using var probe = new Probe(proxy.Url, "websocket", "news");
        var upgrades = 0;
        probe.Client.StateChanged += (_, s) => { if (s == CometClientState.Opening) Interlocked.Increment(ref upgrades); };
        await probe.Client.StartAsync(TestContext.CancellationToken);
        await Task.Delay(3000, TestContext.CancellationToken);
        TestContext.WriteLine($"{upgrades} upgrades in 3 s");
        Assert.IsLessThan(30, upgrades, "a forced transport that is not carried waits between tries");
        Assert.IsGreaterThanOrEqualTo(2, upgrades, "and tries again");
        Assert.AreEqual(CometTransport.WebSocket, probe.Client.Transport, "forced: the only one");
        Assert.IsEmpty(probe.Changes.Where(c => c.Previous is not null));
    }

    [TestMethod]
    [Timeout(90_000, CooperativeCancellation = true)]
    public async Task Behind_a_buffering_nginx_the_client_walks_down_to_long_polling_and_loses_nothing()
    {
        if (!NginxProxy.IsAvailable) Assert.Inconclusive(NginxProxy.NginxPath + " is missing (test.sh installs nginx-light)");
        await using var server = await CometTestServer.StartAsync(o => { o.Heartbeat = 1000; o.Timeout = 15000; });
        var upstream = new Uri(server.BaseUrl);
        // nginx's defaults (HTTP/1.0 upstream: no WebSocket) and it buffers even what the server marks X-Accel-Buffering: no.
        await using var nginx = await NginxProxy.StartAsync(port => $$"""
            server {
                listen 127.0.0.1:{{port}};
                location / {
                    proxy_pass http://127.0.0.1:{{upstream.Port}};
                    proxy_buffering on;
                    proxy_ignore_headers X-Accel-Buffering;
                }
            }
            """, TestContext.CancellationToken);
        await using var probe = new Probe(nginx.Url, "auto", "news");
        await probe.Client.StartAsync(TestContext.CancellationToken);
        Send(server, 1, 5);
        await Wait.UntilAsync(() => probe.Client.Transport == CometTransport.LongPolling, 40, "the client to reach long polling:\n" + probe.Log);
        Send(server, 6, 10);
        await Wait.UntilAsync(() => probe.Received.Count >= 10, 30, "the messages");
        await Task.Delay(300, TestContext.CancellationToken);
        probe.Received.AssertExactlyOnceInOrder(10, "buffering nginx");
        CollectionAssert.AreEqual(new[] { CometTransport.Stream, CometTransport.Sse, CometTransport.LongPolling },
            probe.Changes.Where(c => c.Previous is not null).Select(c => c.Current).ToArray(), "websocket, stream, sse, lpool in order");
        Assert.IsEmpty(probe.Gaps);
    }
}
