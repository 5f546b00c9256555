using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Comet4Net.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// A node whose Redis stops answering for five seconds while requests keep sending: the sends do
/// not hold threads (the thread pool does not grow, other requests are answered at once) and
/// nothing is lost once Redis answers again. The asynchronous lookups of another node's connection
/// wait for Redis without a thread too.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class FrozenRedisTests
{
    private static RedisServer _redis = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static async Task StartRedisAsync(TestContext _) => _redis = await RedisServer.StartAsync();

    [ClassCleanup]
    public static async Task StopRedisAsync() => await _redis.DisposeAsync();

    /// <summary>A node on the class's Redis with <c>/talk?k=</c>: a request handler that sends two messages with the synchronous Comet4J call.</summary>
    private static Task<CometTestServer> StartNodeAsync() =>
        CometTestServer.StartAsync(o => { o.Timeout = 1500; o.Heartbeat = 500; },
            map: app => app.MapGet("/talk", (HttpContext http, int k) =>
            {
                var engine = http.RequestServices.GetRequiredService<CometContext>().Engine;
                engine.SendToAll("news", k + ".0");
                engine.SendToAll("news", k + ".1");
                return Results.Text("ok");
            }),
            services: s => s.AddRedis(_redis.Configuration, o => o.Prefix = "f" + Guid.NewGuid().ToString("N")[..8] + ":"));

    /// <summary>Reads a subscriber's polls until <paramref name="count"/> application messages came (or the deadline), returning their data in order.</summary>
    private static async Task<List<string>> ReceiveAsync(V2Client client, int count, TimeSpan timeout)
    {
        var got = new List<string>();
        var deadline = DateTime.UtcNow + timeout;
        while (got.Count < count && DateTime.UtcNow < deadline)
        {
            var (status, frames) = await client.PollAsync();
            if (status != HttpStatusCode.OK) { await Task.Delay(50); continue; }
            Assert.IsFalse(frames.Any(f => (string?)f["channel"] == "c4j" && (string?)f["data"]?["type"] == "gap"), "no gap: " + string.Join(" | ", frames));
            got.AddRange(frames.Where(f => (string?)f["channel"] == "news").Select(f => (string)f["data"]!));
        }
        return got;
    }

    [TestMethod]
    [Timeout(120000, CooperativeCancellation = true)]
    public async Task Sends_during_a_Redis_freeze_hold_no_threads_delay_no_other_request_and_lose_nothing()
    {
        await using var node = await StartNodeAsync();
        var subscriber = new V2Client(node.NewClient());
        await subscriber.ConnectAsync("lpool");
        var other = new V2Client(node.NewClient());
        await other.ConnectAsync("lpool");
        using var warm = node.NewClient(maxConnections: 256);
        for (var i = 0; i < 3; i++) Assert.AreEqual(HttpStatusCode.OK, (await warm.GetAsync($"/talk?k={1000 + i}")).StatusCode);
        Assert.HasCount(6, await ReceiveAsync(subscriber, 6, TimeSpan.FromSeconds(10)));
        Assert.HasCount(6, await ReceiveAsync(other, 6, TimeSpan.FromSeconds(10)));
        using (var js = await warm.GetAsync("/comet4j.js")) Assert.AreEqual(HttpStatusCode.OK, js.StatusCode);

        // Threads: sampled on a thread of its own every 20 ms while Redis is frozen.
        var poolBefore = ThreadPool.ThreadCount;
        var processBefore = Process.GetCurrentProcess().Threads.Count;
        int poolMax = poolBefore, processMax = processBefore;
        using var sampling = new CancellationTokenSource();
        var sampler = new Thread(() =>
        {
            while (!sampling.IsCancellationRequested)
            {
                poolMax = Math.Max(poolMax, ThreadPool.ThreadCount);
                using (var p = Process.GetCurrentProcess()) processMax = Math.Max(processMax, p.Threads.Count);
                Thread.Sleep(20);
            }
        }) { IsBackground = true };
        sampler.Start();

        _redis.Freeze();
        var clock = Stopwatch.StartNew();
        int poolMaxFrozen = 0, processMaxFrozen = 0;
        var thaw = Task.Run(async () =>
        {
            await Task.Delay(5000);
            (poolMaxFrozen, processMaxFrozen) = (poolMax, processMax); // the threads while Redis was frozen, before the delivery burst
            _redis.Thaw();
        });
        var polling = ReceiveAsync(subscriber, 400, TimeSpan.FromSeconds(60)); // another client's revivals, held meanwhile
        const int requests = 200;
        var sendTimes = new ConcurrentBag<long>();
        var answeredAt = new ConcurrentBag<long>();
        var sends = Enumerable.Range(0, requests).Select(async k =>
        {
            var started = clock.ElapsedMilliseconds;
            using var response = await warm.GetAsync($"/talk?k={k}");
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
            sendTimes.Add(clock.ElapsedMilliseconds - started);
            answeredAt.Add(clock.ElapsedMilliseconds);
        }).ToArray();
        await Task.Delay(1000); // the sends are in; Redis stays frozen four more seconds
        var unrelated = Stopwatch.StartNew();
        using (var js = await node.NewClient().GetAsync("/comet4j.js")) Assert.AreEqual(HttpStatusCode.OK, js.StatusCode);
        var staticMs = unrelated.ElapsedMilliseconds;
        // Another client's revival: held with nothing to deliver (the sends wait for Redis), it must end at its own
        // deadline (Timeout, 1.5 s), not later because the node's work is stuck behind Redis.
        var revival = Stopwatch.StartNew();
        var (revivalStatus, _) = await other.PollAsync();
        var revivalMs = revival.ElapsedMilliseconds;
        Assert.AreEqual(HttpStatusCode.OK, revivalStatus, "the other client's revival is answered during the freeze");
        await Task.WhenAll(sends);
        var sendsDoneMs = answeredAt.Max();
        await thaw;
        var got = await polling;
        var deliveredMs = clock.ElapsedMilliseconds;
        sampling.Cancel();
        sampler.Join();

        var figures = $"static file {staticMs} ms and another client's revival {revivalMs} ms (held to its 1500 ms deadline) during the freeze; {requests} sends answered by {sendsDoneMs} ms (slowest {sendTimes.Max()} ms); "
            + $"thread pool {poolBefore} -> max {poolMaxFrozen} while frozen ({poolMax} after), process threads {processBefore} -> max {processMaxFrozen} while frozen ({processMax} after); {got.Count} messages delivered by {deliveredMs} ms";
        TestContext.WriteLine(figures);
        Console.WriteLine("FROZEN-REDIS " + figures);

        Assert.HasCount(2 * requests, got, "every message arrives once Redis answers; " + figures);
        CollectionAssert.AllItemsAreUnique(got, "exactly once; " + figures);
        foreach (var k in Enumerable.Range(0, requests))
            Assert.IsLessThan(got.IndexOf(k + ".1"), got.IndexOf(k + ".0"), $"one request's sends in order ({k}); " + figures);
        Assert.IsLessThan(1000L, staticMs, "an unrelated request is answered at once while Redis is frozen; " + figures);
        Assert.IsLessThan(1500L + 500, revivalMs, "another client's revival ends at its deadline, not after Redis; " + figures);
        Assert.IsLessThanOrEqualTo(poolBefore + 6, poolMaxFrozen, "the sends hold no thread-pool threads; " + figures);
        Assert.IsLessThan(3000L, sendsDoneMs, "a synchronous send does not wait for Redis; " + figures);
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task An_owner_check_of_another_nodes_connection_holds_no_thread_while_Redis_is_frozen()
    {
        var prefix = "o" + Guid.NewGuid().ToString("N")[..8] + ":";
        Task<CometTestServer> Node() => CometTestServer.StartAsync(o => { o.Timeout = 1500; o.Heartbeat = 500; },
            services: s => s.AddRedis(_redis.Configuration, o => o.Prefix = prefix));
        await using var holder = await Node();
        await using var asker = await Node();
        var client = new V2Client(holder.NewClient());
        await client.ConnectAsync("lpool");
        var engine = asker.Engine;
        Assert.IsNull(engine.GetConnection(client.Id), "held by the other node");
        Assert.IsTrue(await engine.IsConnectionOwnerAsync(client.Id, client.Secret), "read from Redis before the freeze");
        Assert.IsFalse(await engine.IsConnectionOwnerAsync(client.Id, "not-its-secret"));

        // Sampled on a thread of its own while Redis is frozen: the pool's threads, and the work waiting for one.
        var poolBefore = ThreadPool.ThreadCount;
        int poolMax = poolBefore, queuedMax = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = new Thread(() =>
        {
            while (!sampling.IsCancellationRequested)
            {
                poolMax = Math.Max(poolMax, ThreadPool.ThreadCount);
                queuedMax = Math.Max(queuedMax, (int)ThreadPool.PendingWorkItemCount);
                Thread.Sleep(20);
            }
        }) { IsBackground = true };

        const int calls = 200;
        Task<bool>[] checks;
        var clock = Stopwatch.StartNew();
        long issuedMs, pendingAfterMs;
        int pending;
        _redis.Freeze();
        try
        {
            sampler.Start();
            checks = Enumerable.Range(0, calls).Select(_ => engine.IsConnectionOwnerAsync(client.Id, client.Secret).AsTask()).ToArray();
            issuedMs = clock.ElapsedMilliseconds;
            await Task.Delay(2000); // short of the Redis client's own timeout (5 s)
            pending = checks.Count(t => !t.IsCompleted);
            pendingAfterMs = clock.ElapsedMilliseconds;
            sampling.Cancel();
            sampler.Join();
        }
        finally
        {
            _redis.Thaw();
        }
        var answers = await Task.WhenAll(checks);
        var answeredMs = clock.ElapsedMilliseconds;

        var figures = $"{calls} owner checks issued in {issuedMs} ms, {pending} still waiting at {pendingAfterMs} ms, answered by {answeredMs} ms; "
            + $"thread pool {poolBefore} -> max {poolMax}, at most {queuedMax} work items queued";
        TestContext.WriteLine(figures);
        Assert.IsLessThan(1000L, issuedMs, "no call waits for Redis before it returns; " + figures);
        Assert.AreEqual(calls, pending, "each waits for Redis, none answers from a guess; " + figures);
        Assert.IsLessThanOrEqualTo(poolBefore + 6, poolMax, "the waiting checks hold no thread-pool threads; " + figures);
        Assert.IsLessThan(50, queuedMax, "no work queued behind blocked threads (a blocking check queues all but a few); " + figures);
        Assert.IsTrue(answers.All(a => a), "every check answers true once Redis answers; " + figures);
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task Synchronous_and_asynchronous_sends_from_one_thread_keep_their_order_through_a_freeze()
    {
        await using var node = await StartNodeAsync();
        var subscriber = new V2Client(node.NewClient());
        await subscriber.ConnectAsync("lpool");
        var engine = node.Engine;
        var before = await engine.SendToAllAsync("news", "before");
        Assert.IsGreaterThan(0L, before, "numbered once Redis answered");

        _redis.Freeze();
        Task<long> second, fourth;
        try
        {
            var clock = Stopwatch.StartNew();
            Assert.AreEqual(0L, engine.SendToAll("news", "1"), "not numbered yet: Redis is frozen");
            second = engine.SendToAllAsync("news", "2");
            Assert.AreEqual(0L, engine.SendToAll("news", "3"));
            fourth = engine.SendToAllAsync("news", "4");
            Assert.IsLessThan(500L, clock.ElapsedMilliseconds, "no send waits for Redis");
            await Task.Delay(300);
            Assert.IsFalse(second.IsCompleted, "an asynchronous send completes when it is numbered, not before");
        }
        finally
        {
            _redis.Thaw();
        }
        var (two, four) = (await second, await fourth);
        Assert.IsLessThan(four, two, "numbered in the order they were made");
        Assert.IsLessThan(two, before);
        var got = await ReceiveAsync(subscriber, 5, TimeSpan.FromSeconds(30));
        CollectionAssert.AreEqual(new[] { "before", "1", "2", "3", "4" }, got);
    }
}
