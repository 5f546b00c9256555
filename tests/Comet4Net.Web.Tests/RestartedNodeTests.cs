using System.Net;
using Comet4Net.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// A node that (re)starts on a Redis log that already holds messages: a client whose position is
/// older than the node's start and lands on it (a rolling deploy behind round robin) gets what was
/// meant for it after its position, and no gap notice.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class RestartedNodeTests
{
    private static Task<CometTestServer> StartNodeAsync(RedisServer redis, string prefix) =>
        CometTestServer.StartAsync(o => { o.Timeout = 1500; o.Heartbeat = 500; }, null,
            services: s => s.AddRedis(redis.Configuration, o => o.Prefix = prefix));

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_client_behind_the_numbers_a_new_node_started_at_resumes_there_without_a_gap()
    {
        if (!RedisServer.IsAvailable) Assert.Fail("redis-server is not installed: ./test.sh installs it (apt-get install redis-server).");
        await using var redis = await RedisServer.StartAsync();
        var prefix = "r" + Guid.NewGuid().ToString("N")[..8] + ":";
        await using var first = await StartNodeAsync(redis, prefix);
        var client = new V2Client(first.Client);
        await client.ConnectAsync("lpool");
        await first.Engine.SendToAllAsync("news", 1);
        var (status, frames) = await client.PollAsync();
        Assert.AreEqual(HttpStatusCode.OK, status);
        Assert.AreEqual(1, (int)frames.Single()["data"]!);
        // While the client is between requests: two broadcasts and one message to its own id.
        await first.Engine.SendToAllAsync("news", 2);
        await first.Engine.SendToAsync("hello", client.Id, 3);
        await first.Engine.SendToAllAsync("news", 4);
        // A node started now begins its own log after these numbers; the client's next request lands there.
        await using var second = await StartNodeAsync(redis, prefix);
        var (again, resumed) = await client.Through(second.Client).PollAsync();
        Assert.AreEqual(HttpStatusCode.OK, again, resumed.FirstOrDefault()?.ToString());
        var gaps = resumed.Where(f => (string?)f["channel"] == "c4j" && (string?)f["data"]?["type"] == "gap").ToList();
        Assert.IsEmpty(gaps, "no gap: the shared log holds everything after the client's position: " + string.Join(" ", gaps));
        CollectionAssert.AreEqual(new[] { 2, 3, 4 }, resumed.Where(f => f["seq"] is not null).Select(f => (int)f["data"]!).ToArray(),
            "the restarted node delivers what was meant for the client after its position, in order");
    }
}
