using System.Net;
using Comet4Net.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// Policies on Redis: a connection made on one node and served next by another (no sticky sessions) is
/// checked there against the user of the request that brought it, before it receives its channels.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class ChannelPolicyClusterTests
{
    private static RedisServer _redis = null!;

    [ClassInitialize]
    public static async Task StartRedisAsync(TestContext _) => _redis = await RedisServer.StartAsync();

    [ClassCleanup]
    public static async Task StopRedisAsync() => await _redis.DisposeAsync();

    private static Task<CometTestServer> NodeAsync(string prefix) =>
        CometTestServer.StartAsync(o => { o.Timeout = 3000; o.Heartbeat = 0; },
            c => c.RegisterChannel("secret", new ChannelOptions { Policy = "admins" }),
            services: s => { ChannelPolicyTests.AddHeaderUsers(s); s.AddRedis(_redis.Configuration, o => o.Prefix = prefix); },
            middleware: app => app.UseAuthentication());

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_connection_served_by_another_node_is_checked_there_against_the_user_of_its_request()
    {
        var prefix = "p" + Guid.NewGuid().ToString("N")[..8] + ":";
        await using var a = await NodeAsync(prefix);
        await using var b = await NodeAsync(prefix);
        using var adminOnA = ChannelPolicyTests.As(a, "ann", "admin");
        using var adminOnB = ChannelPolicyTests.As(b, "ann", "admin");
        using var demotedOnB = ChannelPolicyTests.As(b, "ann");
        var kept = new V2Client(adminOnA);
        var demoted = new V2Client(adminOnA);
        foreach (var client in new[] { kept, demoted })
        {
            using var conn = await adminOnA.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&sub=secret,hello");
            Assert.AreEqual(HttpStatusCode.OK, conn.StatusCode);
            client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
            Assert.IsNull(client.ConnectData["refused"]);
        }
        a.Engine.SendToAll("secret", "leak");
        a.Engine.SendToAll("hello", "ok");
        CollectionAssert.AreEqual(new[] { "hello:ok" }, Data((await demoted.Through(demotedOnB).PollAsync()).Frames));
        CollectionAssert.AreEqual(new[] { "secret:leak", "hello:ok" }, Data((await kept.Through(adminOnB).PollAsync()).Frames));
        CollectionAssert.AreEqual(new[] { "hello" }, b.Engine.GetConnection(demoted.Id)!.SubscribedChannels!.ToArray(), "the refused channel is left out of the session");
    }

    private static string[] Data(IEnumerable<JObject> frames) =>
        frames.Where(f => (string?)f["channel"] != "c4j").Select(f => (string)f["channel"]! + ":" + (string)f["data"]!).ToArray();
}
