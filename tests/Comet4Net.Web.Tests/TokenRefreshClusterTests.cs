using System.Net;
using Comet4Net.Hosting;
using Comet4Net.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>A token's expiry holds on a cluster: a connection refreshed on one node and served by another keeps it.</summary>
[TestClass]
public sealed class TokenRefreshClusterTests
{
    private const string Key = "token-refresh-cluster-key-0123456789abcdef";

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_refreshed_expiry_holds_on_whichever_node_serves_the_connection_next()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = "tr" + Guid.NewGuid().ToString("N")[..8] + ":";
        await using var a = await CometTestServer.StartAsync(o => { o.TokenKey = Key; o.Timeout = 1500; },
            services: s => s.AddRedis(redis.Configuration, o => o.Prefix = prefix));
        await using var b = await CometTestServer.StartAsync(o => { o.TokenKey = Key; o.Timeout = 1500; },
            services: s => s.AddRedis(redis.Configuration, o => o.Prefix = prefix));
        var tokens = a.Context.Tokens!;

        using var conn = await a.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&token=" + Uri.EscapeDataString(tokens.Issue("alice", TimeSpan.FromSeconds(60))));
        var client = new V2Client(a.Client);
        client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
        using var refresh = await a.Client.GetAsync($"/conn?cmd=refresh&cid={client.Id}&cs={client.Secret}&token="
            + Uri.EscapeDataString(tokens.Issue("alice", TimeSpan.FromSeconds(600))));
        Assert.AreEqual(HttpStatusCode.OK, refresh.StatusCode);
        var expires = (long)JObject.Parse(await refresh.Content.ReadAsStringAsync())["expires"]!;
        Assert.AreEqual(expires, b.Engine.GetSession(client.Id)?.TokenExpires, "the session in Redis carries the expiry");

        // The client's next request lands on the other node: its copy of the connection has the refreshed expiry.
        a.Engine.SendToAll("news", 1);
        var onB = client.Through(b.Client);
        var (status, frames) = await onB.PollAsync(ws: "lpool");
        Assert.AreEqual(HttpStatusCode.OK, status);
        CollectionAssert.Contains(frames.Where(f => (string?)f["channel"] == "news").Select(f => (int)f["data"]!).ToList(), 1);
        Assert.AreEqual(expires, CometHost.TokenExpiresOf(b.Engine.GetConnection(client.Id)!));
        Assert.AreEqual("alice", b.Engine.GetConnection(client.Id)!.UserId);

        // A refresh on B, then a request on A: A takes the connection back with B's later expiry.
        using var again = await b.Client.GetAsync($"/conn?cmd=refresh&cid={client.Id}&cs={client.Secret}&token="
            + Uri.EscapeDataString(tokens.Issue("alice", TimeSpan.FromSeconds(900))));
        var later = (long)JObject.Parse(await again.Content.ReadAsStringAsync())["expires"]!;
        Assert.IsGreaterThan(expires, later);
        a.Engine.SendToAll("news", 2);
        var onA = onB.Through(a.Client);
        (status, _) = await onA.PollAsync(ws: "lpool");
        Assert.AreEqual(HttpStatusCode.OK, status);
        Assert.AreEqual(later, CometHost.TokenExpiresOf(a.Engine.GetConnection(client.Id)!), "the node that served it first adopts the later expiry");
    }
}
