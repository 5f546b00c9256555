using System.Collections.Concurrent;
using Comet4Net.Backplane;
using Comet4Net.Delivery;
using Comet4Net.Redis;
using Comet4Net.Tests.Shared;

namespace Comet4Net.Web.Tests;

/// <summary>
/// The Redis backplane on its own (two nodes, no engine), on one real Redis and on a Redis Cluster of
/// three masters: appends made at the same time, presence swept after a node died.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class RedisBackplaneTests
{
    /// <summary>What a node's engine would be handed: every message in order, and whether two ever came at once.</summary>
    private sealed class Recorder : IBackplaneReceiver
    {
        private readonly List<CometMessage> _received = new();
        private int _inside;

        internal bool Overlapped { get; private set; }

        public void Receive(CometMessage message)
        {
            if (Interlocked.Increment(ref _inside) != 1) Overlapped = true;
            lock (_received) _received.Add(message);
            Interlocked.Decrement(ref _inside);
        }

        internal CometMessage[] Received
        {
            get { lock (_received) return _received.ToArray(); }
        }

        internal bool Has(long seq)
        {
            lock (_received) return _received.Count > 0 && _received[^1].Seq >= seq && _received.Exists(m => m.Seq == seq);
        }
    }

    private static RedisBackplane Node(string configuration, string prefix, out Recorder recorder, TimeSpan? presenceTtl = null)
    {
        var node = new RedisBackplane(new RedisBackplaneOptions { Configuration = configuration, Prefix = prefix, PresenceTtl = presenceTtl ?? TimeSpan.FromSeconds(15) });
        recorder = new Recorder();
        node.Log.Start(recorder);
        return node;
    }

    [TestMethod]
    [DataRow(RedisTargets.Single)]
    [DataRow(RedisTargets.Cluster)]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task Sends_on_many_threads_of_two_nodes_are_numbered_once_each_and_every_node_receives_all_in_the_same_order(string redis)
    {
        var configuration = await RedisTargets.ConfigurationAsync(redis);
        var prefix = "g" + Guid.NewGuid().ToString("N")[..8] + ":";
        using var a = Node(configuration, prefix, out var atA);
        using var b = Node(configuration, prefix, out var atB);
        const int threads = 8, perThread = 150;
        var returned = new ConcurrentBag<(string Data, long Seq)>();
        var notYetReceived = new ConcurrentBag<string>();
        var outOfOrder = new ConcurrentBag<string>();
        using var go = new ManualResetEventSlim();
        var workers = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(() =>
        {
            var node = t % 2 == 0 ? a : b;
            var recorder = t % 2 == 0 ? atA : atB;
            go.Wait();
            var previous = 0L;
            for (var i = 0; i < perThread; i++)
            {
                var data = $"\"{t}.{i}\"";
                var sent = node.Log.AppendAsync(new OutgoingMessage("news", data, 0)).AsTask().GetAwaiter().GetResult(); // each thread waits for its own send
                returned.Add((data, sent.Seq));
                if (!recorder.Has(sent.Seq)) notYetReceived.Add(data);
                if (sent.Seq <= previous) outOfOrder.Add(data);
                previous = sent.Seq;
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        go.Set();
        await Task.WhenAll(workers);

        const int total = threads * perThread;
        Assert.AreEqual(total, returned.Select(r => r.Seq).Distinct().Count(), "every send has a number of its own");
        Assert.IsTrue(returned.All(r => r.Seq > 0), "Redis answered: no send waits");
        Assert.IsEmpty(notYetReceived, "when AppendAsync completes, the sending node has received the message: " + string.Join(", ", notYetReceived.Take(5)));
        Assert.IsEmpty(outOfOrder, "one thread's sends are numbered in the order it made them");

        var expected = returned.OrderBy(r => r.Seq).Select(r => $"{r.Seq}:{r.Data}").ToArray();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((atA.Received.Length < total || atB.Received.Length < total) && DateTime.UtcNow < deadline) await Task.Delay(20);
        foreach (var (name, recorder) in new[] { ("node a", atA), ("node b", atB) })
        {
            var got = recorder.Received;
            Assert.IsTrue(got.All(m => m.HoleAfter is null), name + " saw no gap");
            CollectionAssert.AreEqual(expected, got.Select(m => $"{m.Seq}:{m.DataJson}").ToArray(), name + " received every message once, in number order");
            Assert.IsFalse(recorder.Overlapped, name + " was never handed two messages at once");
        }
        var (calls, sends) = a.AppendCalls;
        Assert.AreEqual(total / 2L, sends, "node a appended each of its sends once");
        Assert.IsLessThan(sends, calls, $"sends made at the same time went out together ({sends} sends in {calls} script calls)");
    }

    [TestMethod]
    [DataRow(RedisTargets.Single)]
    [DataRow(RedisTargets.Cluster)]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task The_users_and_channel_members_of_a_node_that_died_are_swept_once_by_one_of_the_others(string redis)
    {
        var configuration = await RedisTargets.ConfigurationAsync(redis);
        var prefix = "p" + Guid.NewGuid().ToString("N")[..8] + ":";
        var ttl = TimeSpan.FromSeconds(2);
        using var b = Node(configuration, prefix, out _, ttl);
        using var c = Node(configuration, prefix, out _, ttl);
        var a = Node(configuration, prefix, out _, ttl);
        Assert.IsTrue(a.Presence.UserJoined("zoe", "z1", handedOver: false), "zoe's first connection in the cluster: she comes online");
        Assert.IsFalse(b.Presence.UserJoined("zoe", "z2", handedOver: false), "her second, on another node: no second online");
        Assert.IsTrue(b.Presence.UserLeft("zoe", "z2", handedOver: false) is false, "she still has z1 on node a");
        Assert.IsTrue(a.Presence.UserJoined("yan", "y1", handedOver: false));
        a.Presence.Join("talker", "z1", "zoe");
        a.Presence.Join("talker", "y1", "yan");
        b.Presence.Join("talker", "w1", "wes");
        CollectionAssert.AreEquivalent(new[] { "yan", "zoe" }, c.Presence.Users().ToArray(), "every node sees the cluster's users");
        // A join goes out without waiting for Redis (fire and forget, on its node's own connection): another
        // node's read can come first, so node c sees the three members soon, not at once.
        await Wait.UntilAsync(() => c.Presence.Count("talker", includeEveryChannel: false) == new ChannelCount(3, 3), 10, "node c counts the three members");

        a.Dispose(); // node a dies: nobody says its users or members left
        var users = new List<string>();
        var members = new List<(string, ChannelMember)>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((users.Count < 2 || members.Count < 2) && DateTime.UtcNow < deadline)
        {
            b.Presence.KeepEntries(); // the live nodes refresh their own entries, as their schedulers do
            c.Presence.KeepEntries();
            foreach (var node in new[] { b, c })
            {
                users.AddRange(node.Presence.ExpireUsers());
                members.AddRange(node.Presence.ExpireMembers(["talker"]));
            }
            await Task.Delay(100);
        }
        // Both sweep on: nobody reports them a second time.
        for (var i = 0; i < 3; i++)
        {
            foreach (var node in new[] { b, c })
            {
                users.AddRange(node.Presence.ExpireUsers());
                members.AddRange(node.Presence.ExpireMembers(["talker"]));
            }
        }
        CollectionAssert.AreEquivalent(new[] { "yan", "zoe" }, users, "each of node a's users went offline once");
        CollectionAssert.AreEquivalent(new[] { ("talker", new ChannelMember("z1", "zoe")), ("talker", new ChannelMember("y1", "yan")) }, members,
            "each of node a's members left once; wes, whose node refreshes him, stays");
        Assert.AreEqual(new ChannelCount(1, 1), c.Presence.Count("talker", includeEveryChannel: false));
        Assert.IsEmpty(c.Presence.Users());
    }

    [TestMethod]
    [DataRow("", "is empty")]
    [DataRow("app{1}:", "must not contain '{' or '}'")]
    public void A_prefix_that_would_break_the_hash_slots_stops_the_backplane_with_a_message_naming_the_setting(string prefix, string says)
    {
        var e = Assert.ThrowsExactly<CometConfigurationException>(() => new RedisBackplane(new RedisBackplaneOptions { Configuration = "127.0.0.1:1", Prefix = prefix }));
        StringAssert.Contains(e.Message, "Comet:RedisPrefix");
        StringAssert.Contains(e.Message, says);
    }

    private sealed class StartLines : Microsoft.Extensions.Logging.ILogger<RedisBackplane>
    {
        internal readonly List<string> Logged = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Logged) Logged.Add($"{logLevel} {eventId.Id} {formatter(state, exception)}");
        }
    }

    [TestMethod]
    [DataRow(RedisTargets.Single, "one Redis")]
    [DataRow(RedisTargets.Cluster, "a Redis Cluster of 3 masters")]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_node_says_at_start_that_the_Redis_backplane_is_active_where_with_which_prefix_and_as_which_node(string redis, string kind)
    {
        var configuration = await RedisTargets.ConfigurationAsync(redis);
        var lines = new StartLines();
        using var node = new RedisBackplane(new RedisBackplaneOptions { Configuration = configuration + ",password=", Prefix = "s1:" }, lines);
        var start = lines.Logged.Single(l => l.StartsWith("Information 300 ", StringComparison.Ordinal));
        var endpoints = string.Join(", ", configuration.Split(','));
        StringAssert.StartsWith(start, $"Information 300 Comet4Net's Redis backplane is active: {endpoints} ({kind}), key prefix 's1:', node ");
        Assert.DoesNotContain("password", start);
    }
}
