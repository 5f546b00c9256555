using Comet4Net.Delivery;
using Comet4Net.Redis;
using Newtonsoft.Json.Linq;
using StackExchange.Redis;

namespace Comet4Net.Web.Tests;

/// <summary>
/// Publishing once across nodes: the same idempotency key published on two nodes of one Redis (and of a
/// Redis Cluster) is appended once; the other node's answer is a repeat with the first number.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class RedisIdempotencyTests
{
    public TestContext TestContext { get; set; } = null!;

    private static (CometContext Context, RedisBackplane Backplane) Node(string configuration, string prefix)
    {
        var backplane = new RedisBackplane(new RedisBackplaneOptions { Configuration = configuration, Prefix = prefix });
        var context = new CometContext(new CometOptions { IdempotencyWindow = 60000 }, null, null, backplane, null);
        context.RegisterChannel("room", new ChannelOptions { AllowPublish = true });
        return (context, backplane);
    }

    private static CometConnection Connect(CometEngine engine, string? user)
    {
        var result = engine.Connect(new SimpleCometRequest { ClientIp = "10.0.0.1" }, CometDialect.V2, CometWorkStyle.Stream, "2.0.0");
        Assert.IsNotNull(result.Connection, result.Message);
        if (user is not null) result.Connection.UserId = user;
        return result.Connection;
    }

    private static List<CometMessage> Read(CometEngine engine, CometConnection connection)
    {
        var cursor = engine.CursorAfter(connection, 0);
        var list = new List<CometMessage>();
        engine.Collect(connection, ref cursor, list, 1000);
        return list;
    }

    [TestMethod]
    [DataRow(RedisTargets.Single)]
    [DataRow(RedisTargets.Cluster)]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task The_same_key_published_on_two_nodes_at_once_is_appended_once(string redis)
    {
        var configuration = await RedisTargets.ConfigurationAsync(redis);
        var prefix = "i" + Guid.NewGuid().ToString("N")[..8] + ":";
        var (a, backplaneA) = Node(configuration, prefix);
        var (b, backplaneB) = Node(configuration, prefix);
        try
        {
            // One user on both nodes (a page that moved between them): the same scope.
            var onA = Connect(a.Engine, "ann");
            var onB = Connect(b.Engine, "ann");
            var listeners = new[] { (a, Connect(a.Engine, null)), (b, Connect(b.Engine, null)) };
            const int keys = 40;
            var results = await Task.WhenAll(Enumerable.Range(0, keys).SelectMany(i => new[]
            {
                Task.Run(() => a.Engine.Host.PublishOnceAsync(onA, "room", null, new JValue(i), "k" + i)),
                Task.Run(() => b.Engine.Host.PublishOnceAsync(onB, "room", null, new JValue(i), "k" + i)),
            }));
            for (var i = 0; i < keys; i++)
            {
                var (first, second) = (results[2 * i], results[2 * i + 1]);
                Assert.AreEqual(CometOutcome.Ok, first.Outcome);
                Assert.AreEqual(CometOutcome.Ok, second.Outcome);
                Assert.AreEqual(first.Seq, second.Seq, $"key {i}: both answers carry the one number");
                Assert.AreEqual(1, (first.Duplicate ? 1 : 0) + (second.Duplicate ? 1 : 0), $"key {i}: exactly one of the two is the repeat");
            }

            // A server's own send with a key, on both nodes: one append too.
            var s1 = await a.Engine.SendToAllAsync("room", null, "order-1", "order-1");
            var s2 = await b.Engine.SendToAllAsync("room", null, "order-1", "order-1");
            Assert.AreEqual(s1, s2);

            // Both nodes' logs hold each message once, and the stream has one entry per key.
            var last = results.Max(r => r.Seq);
            await WaitAsync(() => backplaneA.Log.LastSequence >= s1 && backplaneB.Log.LastSequence >= s1, "both nodes to file the sends");
            using var redisClient = await ConnectionMultiplexer.ConnectAsync(configuration);
            var stream = await redisClient.GetDatabase().StreamRangeAsync("{" + prefix + "log}:stream");
            Assert.HasCount(keys + 1, stream, "one entry per key");
            var ttl = await redisClient.GetDatabase().KeyTimeToLiveAsync("{" + prefix + "log}:once:u3:ann|room|k0");
            Assert.IsNotNull(ttl, "the key expires in Redis");
            Assert.IsTrue(ttl > TimeSpan.FromSeconds(30) && ttl <= TimeSpan.FromSeconds(60), $"with the window (60 s): {ttl}");
            foreach (var (node, listener) in listeners)
            {
                var data = Read(node.Engine, listener).Select(m => m.DataJson).ToList();
                Assert.HasCount(keys + 1, data, "each node delivers each message once");
                Assert.AreEqual(keys + 1, data.Distinct().Count());
            }
            TestContext.WriteLine($"{redis}: {keys} keys on two nodes, {stream.Length} stream entries, last seq {last}");
        }
        finally
        {
            backplaneA.Dispose();
            backplaneB.Dispose();
        }
    }

    private async Task WaitAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("Timed out waiting for " + what);
            await Task.Delay(20, TestContext.CancellationToken);
        }
    }
}
