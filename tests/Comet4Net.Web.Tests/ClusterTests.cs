using System.Net;
using Comet4Net.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// Three nodes on one real Redis behind a round-robin proxy that never sends a client to the same
/// node twice in a row: no sticky sessions, and nothing lost.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class ClusterTests
{
    private static RedisServer _redis = null!;
    private const string AdminKey = "cluster-admin-key-0123";

    [ClassInitialize]
    public static async Task StartRedisAsync(TestContext _) => _redis = await RedisServer.StartAsync();

    [ClassCleanup]
    public static async Task StopRedisAsync() => await _redis.DisposeAsync();

    private sealed class Cluster : IAsyncDisposable
    {
        internal readonly List<CometTestServer> Nodes = new();
        internal ChaosProxy Proxy = null!;
        internal HttpClient Client = null!;
        internal string Prefix = "";
        internal string Configuration = "";

        /// <summary>
        /// Nodes on <paramref name="target"/> (<see cref="RedisTargets"/>: this class's Redis, or the shared
        /// Redis Cluster), or on <paramref name="redis"/> or <paramref name="configuration"/> when given.
        /// </summary>
        internal static async Task<Cluster> StartAsync(string target = RedisTargets.Single, int nodes = 3, Action<CometOptions>? configure = null, RedisServer? redis = null, string redisOptions = "",
            Action<Comet4Net.Redis.RedisBackplaneOptions>? backplane = null, string? configuration = null)
        {
            var cluster = new Cluster();
            cluster.Configuration = configuration ?? redis?.Configuration ?? (target == RedisTargets.Single ? _redis.Configuration : await RedisTargets.ConfigurationAsync(target));
            var prefix = cluster.Prefix = "t" + Guid.NewGuid().ToString("N")[..8] + ":";
            for (var i = 0; i < nodes; i++)
            {
                cluster.Nodes.Add(await CometTestServer.StartAsync(o => { o.Timeout = 1500; o.Heartbeat = 500; configure?.Invoke(o); },
                    c =>
                    {
                        c.RegisterChannel("room", new ChannelOptions { AllowCount = true });
                        c.RegisterChannel("talker", new ChannelOptions { Presence = true }); // the chat sample's channel, for a cluster with the sample as one of its nodes
                        c.Engine.On<Events.BeforeConnectEvent>(e => { e.Connection!.UserId ??= e.Request.Query("user"); });
                    },
                    map: app => app.MapCometAdmin("/admin", AdminKey),
                    services: s => s.AddRedis(cluster.Configuration + redisOptions, o => { o.Prefix = prefix; backplane?.Invoke(o); })));
            }
            cluster.Proxy = await ChaosProxy.StartAsync(new Uri(cluster.Nodes[0].BaseUrl));
            cluster.Proxy.Enabled = false;
            cluster.Proxy.Targets = cluster.Nodes.Select(n => new Uri(n.BaseUrl)).ToArray();
            cluster.Client = new HttpClient { BaseAddress = new Uri(cluster.Proxy.Url), Timeout = TimeSpan.FromSeconds(30) };
            return cluster;
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Proxy.DisposeAsync();
            foreach (var node in Nodes) await node.DisposeAsync();
        }
    }

    /// <summary>
    /// Message i goes out from node i % 3: a broadcast, or (every fourth) to the client's connection id;
    /// returns without waiting for Redis (each node keeps its own sends in order, not the others').
    /// </summary>
    private static void Send(Cluster cluster, string cid, int i)
    {
        var engine = cluster.Nodes[i % cluster.Nodes.Count].Engine;
        if (i % 4 == 0) Assert.IsTrue(engine.SendTo("hello", cid, i), "any node reaches any connection: " + i);
        else engine.SendToAll("news", i);
    }

    /// <summary>As <see cref="Send"/>, completing once the message is numbered: sends made one after another on different nodes keep that order.</summary>
    private static async Task SendAsync(Cluster cluster, string cid, int i)
    {
        var engine = cluster.Nodes[i % cluster.Nodes.Count].Engine;
        if (i % 4 == 0) Assert.IsTrue(await engine.SendToAsync("hello", cid, i), "any node reaches any connection: " + i);
        else Assert.IsGreaterThan(0L, await engine.SendToAllAsync("news", i));
    }

    /// <summary>Message i was sent by node i % 2: each node's messages arrive in the order it sent them (the two may interleave).</summary>
    private static void AssertEachNodesOrder(List<int> received)
    {
        foreach (var node in new[] { 0, 1 })
        {
            var fromNode = received.Where(n => n % 2 == node).ToArray();
            CollectionAssert.AreEqual(fromNode.OrderBy(n => n).ToArray(), fromNode, "node " + node + "'s messages in the order it sent them");
        }
    }

    private static int[] Numbers(IEnumerable<JObject> frames) =>
        frames.Where(f => (string?)f["channel"] is "news" or "hello").Select(f => (int)f["data"]!).ToArray();

    [TestMethod]
    [DataRow(RedisTargets.Single)]
    [DataRow(RedisTargets.Cluster)]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task Long_polls_hopping_between_nodes_get_every_message_once_in_order(string redis)
    {
        await using var cluster = await Cluster.StartAsync(redis);
        var client = new V2Client(cluster.Client);
        await client.ConnectAsync("lpool");
        const int Messages = 200;
        var received = new List<int>();
        var polls = 0;
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < Messages; i++) { await SendAsync(cluster, client.Id, i); if (i % 20 == 19) await Task.Delay(150); }
        });
        while (received.Count < Messages && polls < 2000)
        {
            polls++;
            var (status, frames) = await client.PollAsync();
            Assert.AreEqual(HttpStatusCode.OK, status, frames.FirstOrDefault()?.ToString());
            Assert.IsFalse(frames.Any(f => (string?)f["channel"] == "c4j" && (string?)f["data"]?["type"] == "gap"), "no gap");
            received.AddRange(Numbers(frames));
        }
        await sending;
        CollectionAssert.AreEqual(Enumerable.Range(0, Messages).ToArray(), received.ToArray(), $"after {polls} polls");
        Assert.IsGreaterThanOrEqualTo(3, polls);
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task Streams_and_SSE_hopping_between_nodes_get_every_message_once_in_order()
    {
        await using var cluster = await Cluster.StartAsync();
        foreach (var style in new[] { "stream", "sse" })
        {
            var client = new V2Client(cluster.Client);
            await client.ConnectAsync("lpool");
            const int Messages = 120;
            var received = new List<int>();
            var sending = Task.Run(async () =>
            {
                for (var i = 0; i < Messages; i++) { await SendAsync(cluster, client.Id, i); await Task.Delay(40); } // about 5 s: several answers end at Timeout (1.5 s)
            });
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(40));
            var answers = 0;
            while (received.Count < Messages)
            {
                answers++;
                using var response = await cluster.Client.GetAsync(client.RevivalUrl(style), HttpCompletionOption.ResponseHeadersRead, cts.Token);
                Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
                if (style == "stream")
                {
                    await foreach (var frame in ReadLinesAsync(response, cts.Token))
                    {
                        if (frame["seq"] is { } seq) client.LastSeq = (long)seq;
                        received.AddRange(Numbers([frame]));
                        if ((string?)frame["channel"] == "c4j" && (string?)frame["data"]?["type"] == "gap") Assert.Fail("no gap");
                    }
                }
                else
                {
                    await foreach (var e in Sse.ReadAsync(response, cts.Token))
                    {
                        if (e.Name == "c4j") { Assert.AreNotEqual("gap", (string?)JObject.Parse(e.Data)["type"]); continue; }
                        client.LastSeq = long.Parse(e.Id!);
                        received.Add(int.Parse(e.Data));
                    }
                }
            }
            await sending;
            CollectionAssert.AreEqual(Enumerable.Range(0, Messages).ToArray(), received.ToArray(), $"{style}, over {answers} answers");
            Assert.IsGreaterThanOrEqualTo(3, answers, style + ": the answers ended at Timeout and the client came back on other nodes");
        }
    }

    private static async IAsyncEnumerable<JObject> ReadLinesAsync(HttpResponseMessage response, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken token)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(token);
        using var reader = new StreamReader(stream);
        while (await reader.ReadLineAsync(token) is { } line)
        {
            if (line.Length > 0) yield return JObject.Parse(line);
        }
    }

    [TestMethod]
    [DataRow(RedisTargets.Single)]
    [DataRow(RedisTargets.Cluster)]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task Counts_see_every_node_and_a_client_resumes_on_another_node_after_its_node_is_gone(string redis)
    {
        await using var cluster = await Cluster.StartAsync(redis);
        var clients = new List<V2Client>();
        for (var i = 0; i < 3; i++)
        {
            var c = new V2Client(cluster.Client);
            using var conn = await cluster.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&sub=room");
            c.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
            clients.Add(c);
        }
        foreach (var node in cluster.Nodes) Assert.AreEqual(3, node.Engine.GetChannelCounts("room").Connections, "each node counts the whole cluster");

        // The node that opened the first client stops; the proxy skips it; the client resumes elsewhere.
        var owner = cluster.Nodes.First(n => n.Engine.GetConnection(clients[0].Id) is not null);
        await owner.DisposeAsync();
        cluster.Nodes.Remove(owner);
        cluster.Proxy.Targets = cluster.Nodes.Select(n => new Uri(n.BaseUrl)).ToArray();
        cluster.Nodes[0].Engine.SendToAll("room", "after the node went away");
        var (status, frames) = await clients[0].PollAsync();
        Assert.AreEqual(HttpStatusCode.OK, status);
        CollectionAssert.AreEqual(new[] { "after the node went away" }, frames.Where(f => (string?)f["channel"] == "room").Select(f => (string)f["data"]!).ToArray());
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task Redis_restarted_empty_gives_clients_a_gap_notice_not_silence()
    {
        await using var cluster = await Cluster.StartAsync(nodes: 2);
        var client = new V2Client(cluster.Client);
        await client.ConnectAsync("lpool");
        cluster.Nodes[0].Engine.SendToAll("news", 1);
        var (_, frames) = await client.PollAsync();
        CollectionAssert.AreEqual(new[] { 1 }, Numbers(frames));

        await _redis.RestartEmptyAsync();
        // The nodes reconnect by themselves; the first append after the restart starts a new log.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try { cluster.Nodes[1].Engine.SendToAll("news", 2); break; }
            catch (Exception) when (DateTime.UtcNow < deadline) { await Task.Delay(200); }
        }
        var seen = new List<JObject>();
        while (!seen.Any(f => (string?)f["channel"] == "news"))
        {
            var (status, more) = await client.PollAsync();
            if (status != HttpStatusCode.OK) break;
            seen.AddRange(more);
        }
        Assert.IsTrue(seen.Any(f => (string?)f["channel"] == "c4j" && (string?)f["data"]?["type"] == "gap"), "told of a gap: " + string.Join(" | ", seen));
        CollectionAssert.AreEqual(new[] { 2 }, Numbers(seen));
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task Sends_while_Redis_is_unreachable_wait_and_go_out_in_order_when_it_returns()
    {
        await using var durable = await RedisServer.StartAsync(durable: true);
        await using var cluster = await Cluster.StartAsync(nodes: 2, redis: durable);
        var client = new V2Client(cluster.Client);
        await client.ConnectAsync("lpool");
        for (var i = 0; i < 5; i++) cluster.Nodes[i % 2].Engine.SendToAll("news", i);
        var received = new List<int>();
        while (received.Count < 5) received.AddRange(Numbers((await client.PollAsync()).Frames));

        await durable.StopAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 5; i < 10; i++) Assert.AreEqual(0, cluster.Nodes[i % 2].Engine.SendToAll("news", i), "not numbered yet: it waits for Redis");
        Assert.IsLessThan(TimeSpan.FromSeconds(3), clock.Elapsed, "a send never waits for Redis (it waits on the node instead)");
        await durable.StartAgainAsync();
        for (var i = 10; i < 15; i++) cluster.Nodes[i % 2].Engine.SendToAll("news", i); // waits behind the others, or goes out
        var frames = new List<JObject>();
        var refusals = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (received.Count < 15 && DateTime.UtcNow < deadline)
        {
            var (status, more) = await client.PollAsync();
            if (status != HttpStatusCode.OK)
            {
                refusals.Add(clock.ElapsedMilliseconds + "ms " + (int)status + " " + string.Join(" ", more));
                await Task.Delay(50); // the nodes' Redis clients are reconnecting
                continue;
            }
            frames.AddRange(more);
            received.AddRange(Numbers(more));
        }
        var story = $"received {string.Join(",", received)}; waiting {string.Join("/", cluster.Nodes.Select(n => ((Comet4Net.Redis.RedisBackplane)n.Engine.Backplane).WaitingMessages))}; refused {refusals.Count}: {string.Join(" | ", refusals.TakeLast(5))}";
        Assert.IsFalse(frames.Any(f => (string?)f["channel"] == "c4j" && (string?)f["data"]?["type"] == "gap"), "Redis kept its log: no gap; " + story);
        // Each node's waiting messages keep their order; the two nodes' queues may interleave.
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 15).ToArray(), received.ToArray(), story);
        AssertEachNodesOrder(received);
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task Sends_dropped_while_waiting_for_Redis_past_the_bound_are_a_gap_every_client_is_told_of()
    {
        // A long outage with many sends: a node keeps at most MaxStreamLength of them waiting. The
        // oldest go, and that must not be silent: they never got numbers, so the first batch after
        // Redis returns carries a marker whose number every node files as a hole.
        await using var durable = await RedisServer.StartAsync(durable: true);
        await using var cluster = await Cluster.StartAsync(nodes: 2, redis: durable, backplane: o => o.MaxStreamLength = 8);
        var client = new V2Client(cluster.Client);
        await client.ConnectAsync("lpool");
        var sender = cluster.Nodes.Single(n => n.Engine.GetConnection(client.Id) is null); // the gap crosses nodes
        for (var i = 0; i < 3; i++) sender.Engine.SendToAll("news", i);
        var received = new List<int>();
        while (received.Count < 3) received.AddRange(Numbers((await client.PollAsync()).Frames));

        await durable.StopAsync();
        for (var i = 3; i < 14; i++) Assert.AreEqual(0, sender.Engine.SendToAll("news", i), "waits for Redis");
        Assert.AreEqual(8, ((Comet4Net.Redis.RedisBackplane)sender.Engine.Backplane).WaitingMessages, "the bound: the three oldest went");
        await durable.StartAgainAsync();

        var frames = new List<JObject>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!received.Contains(13) && DateTime.UtcNow < deadline)
        {
            var (status, more) = await client.PollAsync();
            if (status != HttpStatusCode.OK)
            {
                await Task.Delay(50); // the nodes' Redis clients are reconnecting
                continue;
            }
            frames.AddRange(more);
            received.AddRange(Numbers(more));
        }
        var story = $"received {string.Join(",", received)}; frames {string.Join(" | ", frames)}";
        // The node dropped its three oldest waiting sends (3, 4, 5). The first of them may still arrive:
        // its first try went to the Redis client just as Redis died, and the client's own backlog sends it
        // when Redis is back (a fresh-clone CI saw 3 arrive, numbered before the hole). Dropped means
        // "may be lost", so that is allowed; what is not: a dropped send silently missing without a gap,
        // any repeat, anything out of order, or anything that waited behind them missing.
        var dropped = received.Where(n => n is >= 3 and <= 5).ToList();
        CollectionAssert.AreEqual(new[] { 0, 1, 2 }.Concat(dropped).Concat([6, 7, 8, 9, 10, 11, 12, 13]).ToArray(), received.ToArray(),
            "everything that did not wait past the bound arrives, once and in order; " + story);
        Assert.IsLessThan(3, dropped.Count, "at least one of the three oldest waiting sends is gone; " + story);
        var gaps = frames.Where(f => (string?)f["channel"] == "c4j" && (string?)f["data"]?["type"] == "gap").ToList();
        Assert.HasCount(1, gaps, "told once that messages may be lost; " + story);
        var firstBehind = frames.FindIndex(f => (string?)f["channel"] == "news" && (int?)f["data"] == 6);
        Assert.IsLessThan(firstBehind, frames.IndexOf(gaps[0]), "the gap comes before the messages that waited behind the lost ones; " + story);
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_client_that_moves_to_another_node_while_Redis_stalls_is_told_to_retry_and_loses_nothing()
    {
        // A stall (latency spike, paused VM) is not an empty Redis: "I cannot read your session now" must
        // not become "your session is unknown", which would reset the client and lose what was kept for it.
        await using var stalling = await RedisServer.StartAsync();
        await using var cluster = await Cluster.StartAsync(nodes: 2, redis: stalling, redisOptions: ",syncTimeout=1500"); // short, so a stalled call gives up soon; not so short that a busy machine fails the nodes' start
        var client = new V2Client(cluster.Client);
        await client.ConnectAsync("lpool");
        var holder = cluster.Nodes.Single(n => n.Engine.GetConnection(client.Id) is not null);
        var other = cluster.Nodes.Single(n => n != holder);
        using var otherHttp = new HttpClient { BaseAddress = new Uri(other.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
        var there = new V2Client(otherHttp);
        there.Accept(new JObject { ["channel"] = "c4j", ["data"] = client.ConnectData });
        for (var i = 0; i < 5; i++) await SendAsync(cluster, client.Id, i);

        stalling.Freeze();
        try
        {
            for (var i = 5; i < 10; i++) Send(cluster, client.Id, i); // each waits on its node once Redis does not answer
            var (status, body) = await there.PollAsync();
            Assert.AreEqual(HttpStatusCode.ServiceUnavailable, status, "the node cannot read the session: retry, not 'unknown'");
            Assert.AreEqual("unavailable", (string?)body.Single()["error"], body.Single().ToString());
        }
        finally
        {
            stalling.Thaw();
        }

        var received = new List<int>();
        var frames = new List<JObject>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (received.Count < 10 && DateTime.UtcNow < deadline)
        {
            var (status, more) = await there.PollAsync();
            if (status == HttpStatusCode.ServiceUnavailable) continue; // the node's Redis client is still catching up
            Assert.AreEqual(HttpStatusCode.OK, status, "the session is still known: " + string.Join(" | ", more));
            frames.AddRange(more);
            received.AddRange(Numbers(more));
        }
        Assert.IsFalse(frames.Any(f => (string?)f["channel"] == "c4j" && (string?)f["data"]?["type"] is "gap" or "conn"), "no reset, no gap: " + string.Join(" | ", frames));
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 10).ToArray(), received.ToArray());
        AssertEachNodesOrder(received);
    }

    [TestMethod]
    [Timeout(90000, CooperativeCancellation = true)]
    public async Task A_node_killed_while_streaming_to_a_client_loses_nothing_the_client_resumes_on_another_node()
    {
        // Two nodes in this process and the chat sample as a third, in a process of its own that is
        // killed (SIGKILL: no shutdown, its sessions say it still holds them) while it streams to the client.
        await using var cluster = await Cluster.StartAsync(nodes: 2);
        await using var victim = await NodeProcess.StartChatAsync(new Dictionary<string, string>
        {
            ["Comet__Redis"] = _redis.Configuration,
            ["Comet__RedisPrefix"] = cluster.Prefix,
            ["Comet__Timeout"] = "1500",
            ["Comet__Heartbeat"] = "500",
        }, TimeSpan.FromSeconds(30));
        using var victimHttp = new HttpClient { BaseAddress = new Uri(victim.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
        var client = new V2Client(victimHttp);
        await client.ConnectAsync("stream");

        const int Messages = 100;
        var received = new List<int>();
        var frames = new List<JObject>();
        void Take(JObject f)
        {
            frames.Add(f);
            if ((string?)f["channel"] == "talker" && f["event"] is null && f["data"]?.Type == JTokenType.Integer) lock (received) received.Add((int)f["data"]!);
        }
        using var stop = new CancellationTokenSource();
        var streaming = Task.Run(async () =>
        {
            try { await foreach (var f in client.StreamAsync(stop.Token)) Take(f); }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException) { } // the node died under it
        });
        for (var i = 0; i < Messages; i++)
        {
            if (i == 40)
            {
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (DateTime.UtcNow < deadline) { lock (received) if (received.Count >= 30) break; await Task.Delay(20); }
                lock (received) Assert.IsGreaterThanOrEqualTo(30, received.Count, "the stream on the sample node delivered before the kill");
                victim.Kill();
            }
            var engine = cluster.Nodes[i % 2].Engine;
            if (i % 4 == 0) Assert.IsTrue(await engine.SendToAsync("talker", client.Id, i), "the session outlives its node: " + i);
            else await engine.SendToAllAsync("talker", i);
            await Task.Delay(10);
        }
        Assert.IsTrue(await Task.WhenAny(streaming, Task.Delay(10000)) == streaming, "the stream ended with its node");

        // The balancer sends the client to a live node; it resumes from what it has.
        var there = new V2Client(cluster.Client);
        there.Accept(new JObject { ["channel"] = "c4j", ["data"] = client.ConnectData });
        there.LastSeq = client.LastSeq;
        var until = DateTime.UtcNow.AddSeconds(30);
        while (received.Count < Messages && DateTime.UtcNow < until)
        {
            var (status, more) = await there.PollAsync();
            Assert.AreEqual(HttpStatusCode.OK, status, "the session is still known: " + string.Join(" | ", more));
            foreach (var f in more) Take(f);
        }
        Assert.IsFalse(frames.Any(f => (string?)f["channel"] == "c4j" && (string?)f["data"]?["type"] is "gap" or "conn"), "no reset, no gap: " + string.Join(" | ", frames.Where(f => (string?)f["channel"] == "c4j")));
        CollectionAssert.AreEqual(Enumerable.Range(0, Messages).ToArray(), received.ToArray(), "every message once, in order, through the kill");
    }

    [TestMethod]
    [DataRow(RedisTargets.Single)]
    [DataRow(RedisTargets.Cluster)]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task SendToUser_from_any_node_reaches_the_user_wherever_it_is_served(string redis)
    {
        await using var cluster = await Cluster.StartAsync(redis);
        var client = new V2Client(cluster.Client);
        using (var conn = await cluster.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&user=ann"))
            client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
        var received = new List<int>();
        for (var round = 0; round < 3; round++)
        {
            for (var n = 0; n < cluster.Nodes.Count; n++) await cluster.Nodes[n].Engine.SendToUserAsync("ann", "hello", round * 10 + n); // in order across nodes: each numbered before the next
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (received.Count < (round + 1) * cluster.Nodes.Count && DateTime.UtcNow < deadline)
                received.AddRange(Numbers((await client.PollAsync()).Frames));
        }
        CollectionAssert.AreEqual(new[] { 0, 1, 2, 10, 11, 12, 20, 21, 22 }, received.ToArray());
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_legacy_page_with_sticky_routing_gets_what_every_node_sends()
    {
        // comet4j-0.1.7.js cannot resume (no secret, no position): it needs sticky routing, here one node.
        await using var cluster = await Cluster.StartAsync(configure: o => o.WorkStyle = "lpool");
        var legacy = new LegacyClient(cluster.Nodes[0].Client);
        await legacy.ConnectAsync();
        var seen = new List<int>();
        for (var i = 0; i < 6; i++)
        {
            cluster.Nodes[i % 3].Engine.SendToAll("news", i);
            var frame = await legacy.PollAsync();
            seen.Add((int)frame!["data"]!);
        }
        CollectionAssert.AreEqual(Enumerable.Range(0, 6).ToArray(), seen.ToArray());
    }

    [TestMethod]
    [DataRow(RedisTargets.Single)]
    [DataRow(RedisTargets.Cluster)]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_subscription_made_on_one_node_holds_on_the_node_that_serves_the_next_request(string redis)
    {
        await using var cluster = await Cluster.StartAsync(redis);
        var connects = 0;
        var drops = 0;
        foreach (var node in cluster.Nodes)
        {
            node.Engine.On<Events.ConnectEvent>(_ => Interlocked.Increment(ref connects));
            node.Engine.On<Events.DropEvent>(_ => Interlocked.Increment(ref drops));
        }
        // Round robin: conn on one node, the next requests on the two others, then the first again.
        var client = new V2Client(cluster.Client);
        using (var conn = await cluster.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&sub=hello"))
            client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
        cluster.Nodes[0].Engine.SendToAll("hello", 1);
        var (_, frames) = await client.PollAsync();
        CollectionAssert.AreEqual(new[] { 1 }, Numbers(frames));
        using (var sub = await cluster.Client.GetAsync($"/conn?cmd=sub&cid={client.Id}&cs={client.Secret}&channel=news"))
            Assert.AreEqual(HttpStatusCode.OK, sub.StatusCode);
        await cluster.Nodes[1].Engine.SendToAllAsync("news", 2); // numbered before node 2 sends: in this order
        var last = await cluster.Nodes[2].Engine.SendToAllAsync("hello", 3);
        // Every node has read both from Redis (the wake-up crosses the cluster bus on a Redis Cluster), so one answer holds both.
        await WaitUntilAsync(() => cluster.Nodes.All(n => n.Engine.Backplane.Log.LastSequence >= last), TimeSpan.FromSeconds(10), "every node has message 3");
        (_, frames) = await client.PollAsync(); // back on the node that made the connection: its copy learns of "news"
        CollectionAssert.AreEqual(new[] { 2, 3 }, Numbers(frames), string.Join(" | ", frames));
        Assert.AreEqual(1, connects, "one connection for the application, however many nodes served it");
        Assert.AreEqual(0, drops);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("timed out waiting: " + what);
            await Task.Delay(25);
        }
    }

    private static async Task<V2Client> ConnectUserAsync(CometTestServer node, string user)
    {
        var http = node.NewClient();
        using var response = await http.GetAsync($"/conn?cmd=conn&cv=2.0.0&ws=lpool&user={user}");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        var client = new V2Client(http);
        client.Accept(V2Client.Lines(await response.Content.ReadAsStringAsync())[0]);
        return client;
    }

    [TestMethod]
    [DataRow(RedisTargets.Single)]
    [DataRow(RedisTargets.Cluster)]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_user_comes_online_and_goes_offline_once_in_the_cluster_whichever_nodes_hold_the_connections(string redis)
    {
        await using var cluster = await Cluster.StartAsync(redis);
        var online = new List<string>();
        var offline = new List<string>();
        var drops = 0;
        foreach (var node in cluster.Nodes)
        {
            node.Engine.On<Events.DropEvent>(_ => Interlocked.Increment(ref drops));
            node.Engine.On<Events.UserOnlineEvent>(e => { lock (online) online.Add(e.UserId); });
            node.Engine.On<Events.UserOfflineEvent>(e => { lock (offline) offline.Add(e.UserId); });
        }
        var first = await ConnectUserAsync(cluster.Nodes[0], "ann");
        var second = await ConnectUserAsync(cluster.Nodes[1], "ann");
        var bob = await ConnectUserAsync(cluster.Nodes[2], "bob");
        lock (online) CollectionAssert.AreEquivalent(new[] { "ann", "bob" }, online, "ann's second connection, on another node, is not a second online");
        foreach (var node in cluster.Nodes)
        {
            CollectionAssert.AreEquivalent(new[] { "ann", "bob" }, node.Engine.Users.ToArray(), "every node lists the cluster's users");
            Assert.AreEqual(2, node.Engine.UserCount);
            CollectionAssert.AreEquivalent(new[] { (first.Id, "ann"), (second.Id, "ann"), (bob.Id, "bob") },
                node.Engine.GetChannelMembers("room").Select(m => (m.ConnectionId, m.UserId)).ToArray(), "every node lists the cluster's members of a channel");
        }

        using (var drop = await cluster.Nodes[2].NewClient().GetAsync($"/conn?cmd=drop&cid={first.Id}&cs={first.Secret}"))
            Assert.IsTrue(drop.IsSuccessStatusCode);
        await WaitUntilAsync(() => cluster.Nodes.All(n => n.Engine.GetConnection(first.Id) is null), TimeSpan.FromSeconds(10), "ann's first connection gone");
        lock (offline) Assert.IsEmpty(offline, "ann still has a connection on node 1");
        using (var drop = await cluster.Nodes[0].NewClient().GetAsync($"/conn?cmd=drop&cid={second.Id}&cs={second.Secret}"))
            Assert.IsTrue(drop.IsSuccessStatusCode);
        await WaitUntilAsync(() => { lock (offline) return offline.Count > 0; }, TimeSpan.FromSeconds(10), "ann offline");
        await WaitUntilAsync(() => cluster.Nodes.All(n => n.Engine.GetConnection(second.Id) is null), TimeSpan.FromSeconds(10), "ann's copies gone");
        lock (offline) CollectionAssert.AreEqual(new[] { "ann" }, offline, "offline once, when the last connection anywhere left");
        foreach (var node in cluster.Nodes) CollectionAssert.AreEqual(new[] { "bob" }, node.Engine.Users.ToArray());
        Assert.AreEqual(2, Volatile.Read(ref drops), "each dropped once: the node that served the drop took it over, the holder's copy went quietly");
        GC.KeepAlive(bob);
    }

    [TestMethod]
    [DataRow(RedisTargets.Single)]
    [DataRow(RedisTargets.Cluster)]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_kick_on_one_node_ends_connections_held_by_others_and_the_client_is_told_so_on_any_node(string redis)
    {
        await using var cluster = await Cluster.StartAsync(redis);
        var annOnOne = await ConnectUserAsync(cluster.Nodes[1], "ann");
        var annOnTwo = await ConnectUserAsync(cluster.Nodes[2], "ann");
        var bob = await ConnectUserAsync(cluster.Nodes[1], "bob");
        var drops = 0;
        foreach (var node in cluster.Nodes) node.Engine.On<Events.DropEvent>(_ => Interlocked.Increment(ref drops));

        Assert.AreEqual(0, cluster.Nodes[0].Engine.Kick("ann", "closing time"), "node 0 holds none of ann's connections itself");
        await WaitUntilAsync(() => cluster.Nodes[1].Engine.GetConnections("ann").Count == 0 && cluster.Nodes[2].Engine.GetConnections("ann").Count == 0,
            TimeSpan.FromSeconds(10), "the nodes holding ann's connections kick them");
        Assert.IsNotNull(cluster.Nodes[1].Engine.GetConnection(bob.Id), "bob stays");

        Assert.IsTrue(cluster.Nodes[0].Engine.KickConnection(bob.Id, "bye bob"));
        await WaitUntilAsync(() => cluster.Nodes[1].Engine.GetConnection(bob.Id) is null, TimeSpan.FromSeconds(10), "node 1 kicks bob");
        Assert.IsFalse(cluster.Nodes[0].Engine.KickConnection(bob.Id), "no node holds bob now: the holder wrote the kick to Redis before letting go");
        await WaitUntilAsync(() => Volatile.Read(ref drops) == 3, TimeSpan.FromSeconds(10), "bob's drop event");
        Assert.AreEqual(3, Volatile.Read(ref drops), "each connection dropped once");

        // A kicked client that comes back to a node that did not kick it is told so (410), not resumed.
        foreach (var (client, reason) in new[] { (annOnOne, "closing time"), (annOnTwo, "closing time"), (bob, "bye bob") })
        {
            using var back = await cluster.Nodes[0].NewClient().GetAsync($"/conn?cmd=revival&cid={client.Id}&cs={client.Secret}&ack={client.LastSeq}&ws=lpool");
            Assert.AreEqual(HttpStatusCode.Gone, back.StatusCode);
            StringAssert.Contains(await back.Content.ReadAsStringAsync(), reason);
        }
        Assert.AreEqual(3, Volatile.Read(ref drops), "coming back resumed nothing");

        // Whatever else is written on the control channel is ignored: no node fails on it.
        using (var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(cluster.Configuration))
        {
            var control = StackExchange.Redis.RedisChannel.Literal(cluster.Prefix + "control");
            foreach (var junk in new[] { "{{{", "null", "{\"Node\":\"x\",\"Gone\":true}", "{\"Node\":\"x\"}", "[1,2]" })
                await connection.GetSubscriber().PublishAsync(control, junk);
        }
        var after = await ConnectUserAsync(cluster.Nodes[2], "carl");
        Assert.IsTrue(cluster.Nodes[0].Engine.KickConnection(after.Id, "still works"));
        await WaitUntilAsync(() => cluster.Nodes[2].Engine.GetConnection(after.Id) is null, TimeSpan.FromSeconds(10), "kicks still reach the holder");
    }

    [TestMethod]
    [Timeout(90000, CooperativeCancellation = true)]
    public async Task The_users_of_a_node_that_dies_go_offline_once_when_their_entries_expire()
    {
        await using var cluster = await Cluster.StartAsync(nodes: 2);
        var offline = new List<(string User, bool HasConnection)>();
        foreach (var node in cluster.Nodes) node.Engine.On<Events.UserOfflineEvent>(e => { lock (offline) offline.Add((e.UserId, e.Connection is not null)); });
        await using var victim = await StartChatNodeAsync(cluster);
        await ConnectZoeAsync(victim, "");
        CollectionAssert.Contains(cluster.Nodes[0].Engine.Users.ToArray(), "zoe", "a user of the chat node is online for the cluster");

        victim.Kill(); // no shutdown: nobody says zoe left
        await WaitUntilAsync(() => { lock (offline) return offline.Count > 0; }, TimeSpan.FromSeconds(45), "zoe offline after her entries expired");
        await WaitUntilAsync(() => !cluster.Nodes.Any(n => n.Engine.Users.Contains("zoe")), TimeSpan.FromSeconds(5), "zoe no longer listed");
        // Both nodes sweep every tick; only one reports her.
        var settle = DateTime.UtcNow.AddSeconds(2);
        while (DateTime.UtcNow < settle) await Task.Delay(100);
        lock (offline) CollectionAssert.AreEqual(new[] { ("zoe", false) }, offline);
    }

    [TestMethod]
    [Timeout(90000, CooperativeCancellation = true)]
    public async Task A_presence_channel_is_told_once_that_the_connections_of_a_node_that_died_left()
    {
        await using var cluster = await Cluster.StartAsync(nodes: 2);
        var http = cluster.Nodes[0].NewClient();
        using (var conn = await http.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&user=watcher&sub=talker"))
        {
            Assert.AreEqual(HttpStatusCode.OK, conn.StatusCode);
            var watcher = new V2Client(http);
            watcher.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
            await using var victim = await StartChatNodeAsync(cluster);
            var zoe = await ConnectZoeAsync(victim, "&sub=talker");
            var notices = new List<JObject>();
            async Task WatchUntilAsync(Func<bool> done, TimeSpan timeout, string what)
            {
                var deadline = DateTime.UtcNow + timeout;
                while (!done())
                {
                    if (DateTime.UtcNow > deadline) Assert.Fail("timed out waiting: " + what + "; notices " + string.Join(" | ", notices));
                    var (status, frames) = await watcher.PollAsync();
                    Assert.AreEqual(HttpStatusCode.OK, status);
                    notices.AddRange(frames.Where(f => (string?)f["channel"] == "talker" && f["event"] is not null && (string?)f["data"]?["cId"] == zoe));
                }
            }
            await WatchUntilAsync(() => notices.Any(n => (string?)n["event"] == "join"), TimeSpan.FromSeconds(10), "zoe joins, on the other node");
            CollectionAssert.Contains(cluster.Nodes[1].Engine.GetChannelMembers("talker").Select(m => m.ConnectionId).ToArray(), zoe);

            victim.Kill(); // no shutdown: nobody says zoe left, until her entries expire
            await WatchUntilAsync(() => notices.Any(n => (string?)n["event"] == "leave"), TimeSpan.FromSeconds(45), "zoe's leave notice");
            var leave = notices.Single(n => (string?)n["event"] == "leave");
            Assert.AreEqual("zoe", (string?)leave["data"]!["user"]);
            Assert.AreEqual(1, (int)leave["data"]!["connections"]!, "only the watcher is left on the channel: " + leave);
            CollectionAssert.DoesNotContain(cluster.Nodes[1].Engine.GetChannelMembers("talker").Select(m => m.ConnectionId).ToArray(), zoe);
            // Both nodes sweep every tick; only one tells the channel.
            var settle = DateTime.UtcNow.AddSeconds(3);
            await WatchUntilAsync(() => DateTime.UtcNow > settle, TimeSpan.FromSeconds(10), "more notices");
            Assert.AreEqual(1, notices.Count(n => (string?)n["event"] == "leave"), "told once: " + string.Join(" | ", notices));
        }
    }

    /// <summary>The chat sample as one more node of the cluster, in a process of its own (to kill).</summary>
    private static Task<NodeProcess> StartChatNodeAsync(Cluster cluster) => NodeProcess.StartChatAsync(new Dictionary<string, string>
    {
        ["Comet__Redis"] = _redis.Configuration,
        ["Comet__RedisPrefix"] = cluster.Prefix,
    }, TimeSpan.FromSeconds(30));

    /// <summary>User zoe (the chat's cookie) connects to the chat node, long polling; her connection id.</summary>
    private static async Task<string> ConnectZoeAsync(NodeProcess node, string query)
    {
        using var http = new HttpClient { BaseAddress = new Uri(node.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/conn?cmd=conn&cv=2.0.0&ws=lpool" + query);
        request.Headers.Add("Cookie", "userName=zoe");
        using var response = await http.SendAsync(request);
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        return (string)V2Client.Lines(await response.Content.ReadAsStringAsync())[0]["data"]!["cId"]!;
    }

    private static async Task<(HttpStatusCode Status, JObject Body)> AdminAsync(CometTestServer node, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, "/admin/" + path);
        request.Headers.Add("X-Comet-Admin-Key", AdminKey);
        if (body is not null) request.Content = new StringContent(JObject.FromObject(body).ToString(), System.Text.Encoding.UTF8, "application/json");
        using var response = await node.Client.SendAsync(request);
        return (response.StatusCode, JObject.Parse(await response.Content.ReadAsStringAsync()));
    }

    [TestMethod]
    [DataRow(RedisTargets.Single)]
    [DataRow(RedisTargets.Cluster)]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task The_admin_api_of_any_node_sees_pushes_to_and_kicks_a_connection_another_node_holds(string redis)
    {
        await using var cluster = await Cluster.StartAsync(redis);
        var holder = cluster.Nodes[1];
        var http = holder.NewClient();
        using (var conn = await http.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&user=ann&sub=room"))
        {
            var client = new V2Client(http);
            client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);

            var (status, info) = await AdminAsync(cluster.Nodes[0], HttpMethod.Get, "connections/" + client.Id);
            Assert.AreEqual(HttpStatusCode.OK, status, info.ToString());
            Assert.AreEqual("ann", (string?)info["user"]);
            CollectionAssert.AreEqual(new[] { "room" }, info["channels"]!.Select(t => (string)t!).ToArray());
            Assert.AreEqual(holder.Engine.NodeId, (string?)info["node"]);
            Assert.IsFalse((bool)info["thisNode"]!);
            Assert.IsFalse((bool)info["away"]!);
            Assert.IsNull(info["cs"], "the secret is never shown");
            Assert.IsFalse(info.ToString().Contains(client.Secret, StringComparison.Ordinal));

            (status, var pushed) = await AdminAsync(cluster.Nodes[2], HttpMethod.Post, "push", new { channel = "room", cid = client.Id, data = 5 });
            Assert.AreEqual(HttpStatusCode.OK, status, pushed.ToString());
            var (_, frames) = await client.PollAsync();
            CollectionAssert.AreEqual(new[] { 5 }, frames.Where(f => (string?)f["channel"] == "room").Select(f => (int)f["data"]!).ToArray());

            (status, var kicked) = await AdminAsync(cluster.Nodes[0], HttpMethod.Post, "kick", new { cid = client.Id, reason = "admin says so" });
            Assert.AreEqual(HttpStatusCode.OK, status, kicked.ToString());
            Assert.AreEqual(1, (int)kicked["kicked"]!);
            await WaitUntilAsync(() => holder.Engine.GetConnection(client.Id) is null, TimeSpan.FromSeconds(10), "the holder kicks it");
            (status, _) = await AdminAsync(cluster.Nodes[2], HttpMethod.Get, "connections/" + client.Id);
            Assert.AreEqual(HttpStatusCode.NotFound, status, "a kicked connection is not listed");
        }
        var (unknown, body) = await AdminAsync(cluster.Nodes[0], HttpMethod.Get, "connections/not-a-connection-id");
        Assert.AreEqual(HttpStatusCode.NotFound, unknown);
        Assert.AreEqual("unknown-cid", (string?)body["error"]);
    }

    [TestMethod]
    [DataRow(RedisTargets.Single)]
    [DataRow(RedisTargets.Cluster)]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task The_shared_log_in_Redis_lets_go_of_messages_older_than_CacheExpires(string redis)
    {
        await using var cluster = await Cluster.StartAsync(redis, nodes: 2, configure: o => { o.CacheExpires = 1000; o.CacheFrequency = 100; });
        using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(cluster.Configuration);
        var db = connection.GetDatabase();
        var log = "{" + cluster.Prefix + "log}:stream";
        var client = new V2Client(cluster.Nodes[1].NewClient());
        await client.ConnectAsync("lpool");
        for (var i = 0; i < 50; i++) cluster.Nodes[0].Engine.SendToAll("news", i);
        await cluster.Nodes[0].Engine.SendToAllAsync("news", -1); // numbered after the 50 before it: the synchronous sends do not wait for Redis
        Assert.IsGreaterThanOrEqualTo(50, await db.StreamLengthAsync(log), "the stream holds what was sent");
        await WaitUntilAsync(() => db.StreamLength(log) == 0, TimeSpan.FromSeconds(15), "the stream trimmed by age");

        // It goes on: new messages are appended and delivered.
        await cluster.Nodes[0].Engine.SendToAllAsync("news", 50);
        Assert.AreEqual(1, await db.StreamLengthAsync(log));
        var (_, frames) = await client.PollAsync();
        CollectionAssert.Contains(Numbers(frames), 50);
    }

    [TestMethod]
    [Timeout(90000, CooperativeCancellation = true)]
    public async Task A_Redis_Cluster_master_that_stops_under_load_and_returns_empty_loses_nothing_acknowledged_and_the_sends_made_meanwhile_wait()
    {
        // Three masters, no replicas: the master holding the log's slot stops while messages flow to
        // clients of two nodes. Its slots are down meanwhile (the other masters go on serving theirs);
        // it comes back empty (nothing saved), so the log starts a new epoch.
        await using var redisCluster = await RedisClusterServer.StartAsync();
        await using var cluster = await Cluster.StartAsync(nodes: 2, configuration: redisCluster.Configuration);
        var master = await redisCluster.MasterOfAsync("{" + cluster.Prefix + "log}:stream");
        var clients = new List<(V2Client Client, List<JObject> Frames, List<string> Refusals)>();
        foreach (var node in cluster.Nodes)
        {
            var client = new V2Client(node.NewClient());
            await client.ConnectAsync("lpool");
            clients.Add((client, new List<JObject>(), new List<string>()));
        }
        using var stop = new CancellationTokenSource();
        var polling = clients.Select(c => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var (status, frames) = await c.Client.PollAsync();
                lock (c.Frames)
                {
                    if (status == HttpStatusCode.OK) c.Frames.AddRange(frames);
                    else c.Refusals.Add((int)status + " " + string.Join(" ", frames));
                }
            }
        })).ToArray();
        int[] Received(int i)
        {
            lock (clients[i].Frames) return Numbers(clients[i].Frames);
        }

        // Acknowledged: numbered by Redis before the master stops.
        for (var i = 0; i < 20; i++) Assert.IsGreaterThan(0L, await cluster.Nodes[i % 2].Engine.SendToAllAsync("news", i));
        await WaitUntilAsync(() => Received(0).Length >= 20 && Received(1).Length >= 20, TimeSpan.FromSeconds(15), "both clients have the first 20");

        redisCluster.Stop(master);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 20; i < 40; i++) Assert.AreEqual(0L, cluster.Nodes[i % 2].Engine.SendToAll("news", i), "not numbered: it waits on its node");
        Assert.IsLessThan(TimeSpan.FromSeconds(3), clock.Elapsed, "a send never waits for the stopped master");
        int Waiting() => cluster.Nodes.Sum(n => ((Comet4Net.Redis.RedisBackplane)n.Engine.Backplane).WaitingMessages);
        await WaitUntilAsync(() => Waiting() == 20, TimeSpan.FromSeconds(15), "the 20 sends wait on their nodes");
        Assert.AreEqual(20, Received(0).Length, "nothing unnumbered reaches a client");

        await redisCluster.StartAgainAsync(master);
        for (var i = 40; i < 50; i++) cluster.Nodes[i % 2].Engine.SendToAll("news", i); // behind the waiting ones, on each node
        await WaitUntilAsync(() => Received(0).Length >= 50 && Received(1).Length >= 50, TimeSpan.FromSeconds(45),
            () => $"both clients have all 50: {string.Join(",", Received(0))} / {string.Join(",", Received(1))}; waiting {Waiting()}");
        stop.Cancel();
        await Task.WhenAll(polling);

        for (var c = 0; c < clients.Count; c++)
        {
            List<JObject> frames;
            lock (clients[c].Frames) frames = clients[c].Frames.ToList();
            var received = Numbers(frames).ToList();
            var story = $"client {c}: {string.Join(" | ", frames)}; refused {string.Join(" | ", clients[c].Refusals)}";
            CollectionAssert.AreEqual(Enumerable.Range(0, 20).ToArray(), received.Take(20).ToArray(), "the acknowledged ones first, in order; " + story);
            CollectionAssert.AreEquivalent(Enumerable.Range(0, 50).ToArray(), received.ToArray(), "every message once; " + story);
            AssertEachNodesOrder(received);
            Assert.IsFalse(frames.Any(f => (string?)f["channel"] == "c4j" && (string?)f["data"]?["type"] == "conn"), "never reset; " + story);
            var gap = frames.FindIndex(f => (string?)f["channel"] == "c4j" && (string?)f["data"]?["type"] == "gap");
            var firstAfter = frames.FindIndex(f => (string?)f["channel"] == "news" && (int)f["data"]! >= 20);
            Assert.IsTrue(gap >= 0 && gap < firstAfter, "the master came back empty (a new epoch): told of a gap before the messages that waited; " + story);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("timed out waiting: " + what());
            await Task.Delay(25);
        }
    }
}
