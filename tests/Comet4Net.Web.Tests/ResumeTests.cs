using System.Net;
using Comet4Net.Backplane;
using Comet4Net.Events;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>Resume by position: a client that was away longer than ConnExpires loses nothing the server still holds.</summary>
[TestClass]
public sealed class ResumeTests
{
    private static void Quick(CometOptions o)
    {
        o.ConnExpires = 300;
        o.ConnFrequency = 100;
        o.Timeout = 2000;
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_client_away_longer_than_ConnExpires_is_dropped_then_resumes_with_everything_in_order()
    {
        var drops = new List<DropReason>();
        var connects = 0;
        var offline = 0;
        await using var server = await CometTestServer.StartAsync(Quick, c =>
        {
            c.Engine.On<DropEvent>(e => { lock (drops) drops.Add(e.Reason); });
            c.Engine.On<ConnectEvent>(_ => Interlocked.Increment(ref connects));
            c.Engine.On<UserOfflineEvent>(_ => Interlocked.Increment(ref offline));
            c.Engine.On<BeforeConnectEvent>(e => { e.Connection!.UserId ??= e.Request.Query("user"); });
        });
        var client = new V2Client(server.Client);
        using (var conn = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&user=ann"))
            client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
        Assert.AreEqual(60000, (int)client.ConnectData["resume"]!, "the conn frame says how long a position is kept");
        Assert.IsFalse(string.IsNullOrEmpty((string?)client.ConnectData["epoch"]));
        var id = client.Id;
        server.Engine.SendToAll("hello", 1);

        // Away: no request for longer than ConnExpires. Comet4J's drop happens (listeners, user offline)...
        await Wait.UntilAsync(() => { lock (drops) return drops.Contains(DropReason.Expired); }, 10, "the connection to expire");
        Assert.IsNull(server.Engine.GetConnection(id));
        Assert.AreEqual(1, offline);
        // ...while messages keep coming: broadcasts, to the connection, to its user.
        server.Engine.SendToAll("hello", 2);
        Assert.IsTrue(server.Engine.SendTo("news", id, 3), "a connection away within the resume window still takes messages");
        Assert.AreEqual(0, server.Engine.SendToUser("ann", "news", 4), "no connection of ann is held now");
        server.Engine.SendToAll("hello", 5);

        var (status, frames) = await client.PollAsync();
        Assert.AreEqual(HttpStatusCode.OK, status);
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 4, 5 }, frames.Where(f => (string?)f["channel"] != "c4j").Select(f => (int)f["data"]!).ToArray());
        Assert.IsFalse(frames.Any(f => (string?)f["channel"] == "c4j" && (string?)f["data"]?["type"] == "gap"), "no gap: nothing the server held was lost");
        Assert.AreEqual(2, connects, "connected again, with Comet4J's connect event");
        Assert.AreEqual(id, server.Engine.GetConnection(id)?.Id);
        Assert.AreEqual("ann", server.Engine.GetConnection(id)!.UserId);

        // Acknowledged messages are not sent twice.
        server.Engine.SendToAll("hello", 6);
        (_, frames) = await client.PollAsync();
        CollectionAssert.AreEqual(new[] { 6 }, frames.Where(f => (string?)f["channel"] != "c4j").Select(f => (int)f["data"]!).ToArray());
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Subscriptions_survive_a_resume()
    {
        await using var server = await CometTestServer.StartAsync(Quick);
        var client = new V2Client(server.Client);
        using (var conn = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&sub=news"))
            client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
        await Wait.UntilAsync(() => server.Engine.GetConnection(client.Id) is null, 10, "the connection to expire");
        server.Engine.SendToAll("hello", "not subscribed");
        server.Engine.SendToAll("news", "subscribed");
        var (_, frames) = await client.PollAsync();
        CollectionAssert.AreEqual(new[] { "subscribed" }, frames.Where(f => (string?)f["channel"] != "c4j").Select(f => (string)f["data"]!).ToArray());
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Past_the_resume_window_the_client_is_told_to_reconnect_and_a_wrong_secret_never_resumes()
    {
        await using var server = await CometTestServer.StartAsync(o => { Quick(o); o.CacheExpires = 800; o.CacheFrequency = 200; });
        var client = new V2Client(server.Client);
        await client.ConnectAsync("lpool");
        await Wait.UntilAsync(() => server.Engine.GetConnection(client.Id) is null, 10, "the connection to expire");
        var backplane = (InMemoryBackplane)server.Engine.Backplane;
        Assert.AreEqual(1, backplane.SessionCount);
        using (var thief = await server.Client.GetAsync($"/conn?cmd=revival&cid={client.Id}&cs={Comet4Net.Connections.ConnectionIds.NewId()}&ack=0"))
            Assert.AreEqual(HttpStatusCode.Forbidden, thief.StatusCode);
        Assert.IsNull(server.Engine.GetConnection(client.Id));
        await Wait.UntilAsync(() => backplane.SessionCount == 0, 10, "the session to pass its window");
        var (status, frames) = await client.PollAsync();
        Assert.AreEqual(HttpStatusCode.NotFound, status);
        Assert.AreEqual("unknown-cid", (string?)frames[0]["error"]);
        Assert.AreEqual("reconnect", (string?)frames[0]["data"]?["type"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_client_leaving_while_away_is_forgotten()
    {
        await using var server = await CometTestServer.StartAsync(Quick);
        var client = new V2Client(server.Client);
        await client.ConnectAsync("lpool");
        await Wait.UntilAsync(() => server.Engine.GetConnection(client.Id) is null, 10, "the connection to expire");
        using var drop = await server.Client.GetAsync($"/conn?cmd=drop&cid={client.Id}&cs={client.Secret}");
        Assert.AreEqual(HttpStatusCode.OK, drop.StatusCode);
        Assert.IsFalse(server.Engine.SendTo("hello", client.Id, 1));
        var (status, _) = await client.PollAsync();
        Assert.AreEqual(HttpStatusCode.NotFound, status);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_restarted_server_tells_an_EventSource_of_a_gap_not_silence()
    {
        string lastId;
        await using (var first = await CometTestServer.StartAsync())
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            using var response = await first.Client.GetAsync("/conn?cmd=conn&ws=sse", HttpCompletionOption.ResponseHeadersRead, cts.Token);
            first.Engine.SendToAll("hello", "before the restart");
            lastId = "";
            await foreach (var e in Sse.ReadAsync(response, cts.Token))
            {
                if (e.Name != "hello") continue;
                lastId = e.Id!;
                break;
            }
        }
        await using var second = await CometTestServer.StartAsync();
        second.Engine.SendToAll("hello", "after the restart");
        using var again = new HttpRequestMessage(HttpMethod.Get, "/conn?cmd=conn&ws=sse");
        again.Headers.Add("Last-Event-ID", lastId);
        using var cts2 = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var resumed = await second.Client.SendAsync(again, HttpCompletionOption.ResponseHeadersRead, cts2.Token);
        var seen = new List<Sse.Event>();
        await foreach (var e in Sse.ReadAsync(resumed, cts2.Token))
        {
            seen.Add(e);
            if (e.Name == "c4j" && JObject.Parse(e.Data)["type"]?.ToString() == "gap") break;
            if (seen.Count > 5) break;
        }
        var gap = seen.Select(e => e.Name == "c4j" ? JObject.Parse(e.Data) : null).FirstOrDefault(d => (string?)d?["type"] == "gap");
        Assert.IsNotNull(gap, "the old position is of another epoch: a gap notice, never silence. Saw: " + string.Join(" | ", seen.Select(e => e.Name + " " + e.Data)));
        Assert.AreEqual(long.Parse(lastId) + 1, (long)gap["from"]!);
    }
}
