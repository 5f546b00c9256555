using System.Collections.Concurrent;
using Comet4Net.Backplane;
using Comet4Net.Delivery;
using Comet4Net.Redis;
using Comet4Net.Tests.Shared;

namespace Comet4Net.Web.Tests;

/// <summary>The Redis backplane on its own (two nodes on one real Redis, no engine): appends made at the same time.</summary>
[TestClass]
[DoNotParallelize]
public sealed class RedisBackplaneTests
{
    private static RedisServer _redis = null!;

    [ClassInitialize]
    public static async Task StartRedisAsync(TestContext _) => _redis = await RedisServer.StartAsync();

    [ClassCleanup]
    public static async Task StopRedisAsync() => await _redis.DisposeAsync();

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

    private static RedisBackplane Node(string prefix, out Recorder recorder)
    {
        var node = new RedisBackplane(new RedisBackplaneOptions { Configuration = _redis.Configuration, Prefix = prefix });
        recorder = new Recorder();
        node.Log.Start(recorder);
        return node;
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task Sends_on_many_threads_of_two_nodes_are_numbered_once_each_and_every_node_receives_all_in_the_same_order()
    {
        var prefix = "g" + Guid.NewGuid().ToString("N")[..8] + ":";
        using var a = Node(prefix, out var atA);
        using var b = Node(prefix, out var atB);
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
}
