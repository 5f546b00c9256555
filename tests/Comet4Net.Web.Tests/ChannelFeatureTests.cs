using System.Net;
using Comet4Net.Events;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>Subscriptions, channel events, history, presence, counts and client publishing (v2).</summary>
[TestClass]
public sealed class ChannelFeatureTests
{
    private static Task<CometTestServer> StartAsync(Action<CometContext>? setup = null) =>
        CometTestServer.StartAsync(null, context =>
        {
            context.RegisterChannel("room", new ChannelOptions { HistoryCount = 20, Presence = true, AllowPublish = true, AllowCount = true });
            context.RegisterChannel("closed");
            setup?.Invoke(context);
        });

    private static async Task<V2Client> ConnectAsync(CometTestServer server, string sub)
    {
        using var response = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&sub=" + sub);
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        var client = new V2Client(server.Client);
        client.Accept(V2Client.Lines(await response.Content.ReadAsStringAsync())[0]);
        return client;
    }

    private static string Command(V2Client c, string cmd, string channel, string extra = "") =>
        $"/conn?cmd={cmd}&cid={c.Id}&cs={c.Secret}&channel={channel}{extra}";

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_client_receives_only_the_channels_it_listens_on_and_can_change_them_without_reconnecting()
    {
        await using var server = await StartAsync();
        var client = await ConnectAsync(server, "news");
        server.Engine.SendToAll("hello", "not for me");
        server.Engine.SendToAll("news", "mine");
        var (_, frames) = await client.PollAsync();
        CollectionAssert.AreEqual(new[] { "mine" }, frames.Select(f => (string?)f["data"]).ToArray());

        using var sub = await server.Client.GetAsync(Command(client, "sub", "hello"));
        Assert.AreEqual(HttpStatusCode.OK, sub.StatusCode);
        using var unsub = await server.Client.GetAsync(Command(client, "unsub", "news"));
        Assert.AreEqual(HttpStatusCode.OK, unsub.StatusCode);
        server.Engine.SendToAll("news", "no longer");
        server.Engine.SendToAll("hello", "now mine");
        (_, frames) = await client.PollAsync();
        CollectionAssert.AreEqual(new[] { "now mine" }, frames.Select(f => (string?)f["data"]).ToArray());
        // A message addressed to the connection itself arrives whatever it listens on.
        server.Engine.SendTo("closed", client.Id, "direct");
        (_, frames) = await client.PollAsync();
        Assert.AreEqual("direct", (string?)frames.Single()["data"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_channel_event_carries_its_name()
    {
        await using var server = await StartAsync();
        var client = await ConnectAsync(server, "room");
        server.Engine.SendToAll("room", "typing", new { user = "ann" });
        var (_, frames) = await client.PollAsync();
        var frame = frames.Last();
        Assert.AreEqual("room", (string?)frame["channel"]);
        Assert.AreEqual("typing", (string?)frame["event"]);
        Assert.AreEqual("ann", (string?)frame["data"]!["user"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task History_comes_marked_before_live_messages_with_no_gap_and_no_duplicate()
    {
        await using var server = await StartAsync();
        for (var i = 0; i < 30; i++) server.Engine.SendToAll("room", i);
        var client = await ConnectAsync(server, "");
        using var sub = await server.Client.GetAsync(Command(client, "sub", "room", "&history=5"));
        var frames = V2Client.Lines(await sub.Content.ReadAsStringAsync());
        var history = frames.Where(f => f["seq"] is not null).ToList();
        CollectionAssert.AreEqual(new[] { 25, 26, 27, 28, 29 }, history.Select(f => (int)f["data"]!).ToArray());
        Assert.IsTrue(history.All(f => (bool?)f["history"] == true));
        Assert.AreEqual("subscribed", (string?)frames[^1]["data"]!["type"]);
        server.Engine.SendToAll("room", 30);
        var (_, live) = await client.PollAsync();
        var values = live.Where(f => f["event"] is null).Select(f => (int)f["data"]!).ToArray();
        CollectionAssert.AreEqual(new[] { 30 }, values);
        Assert.IsGreaterThan((long)history[^1]["seq"]!, (long)live.Last()["seq"]!);
        Assert.HasCount(20, server.Engine.GetHistory("room"));
        Assert.AreEqual(20, server.Engine.ClearHistory("room"));
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Presence_and_counts_follow_subscriptions()
    {
        await using var server = await StartAsync(context => context.Engine.On<BeforeConnectEvent>(e =>
        {
            e.Connection!.UserId = e.Request.Query("user");
            return true;
        }));
        var watcher = await ConnectAsync(server, "room");
        using var ann = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&sub=room&user=ann");
        var annClient = new V2Client(server.Client);
        annClient.Accept(V2Client.Lines(await ann.Content.ReadAsStringAsync())[0]);
        var (_, frames) = await watcher.PollAsync();
        var join = frames.Last(f => (string?)f["event"] == "join");
        Assert.AreEqual("ann", (string?)join["data"]!["user"]);
        Assert.AreEqual(2, (int)join["data"]!["connections"]!);

        using var count = await server.Client.GetAsync(Command(watcher, "count", "room"));
        var body = JObject.Parse(await count.Content.ReadAsStringAsync());
        Assert.AreEqual(2, (int)body["connections"]!);
        Assert.AreEqual(1, (int)body["users"]!);
        using var closed = await server.Client.GetAsync(Command(watcher, "count", "closed"));
        Assert.AreEqual(HttpStatusCode.Forbidden, closed.StatusCode);

        using var drop = await server.Client.GetAsync($"/conn?cmd=drop&cid={annClient.Id}&cs={annClient.Secret}");
        (_, frames) = await watcher.PollAsync();
        var leave = frames.Last(f => (string?)f["event"] == "leave");
        Assert.AreEqual("ann", (string?)leave["data"]!["user"]);
        Assert.AreEqual(1, (int)leave["data"]!["connections"]!);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_client_publishes_only_where_allowed_stamped_with_its_sender_and_gets_a_delivery_report()
    {
        await using var server = await StartAsync(context =>
        {
            context.Engine.On<BeforeConnectEvent>(e => { e.Connection!.UserId = e.Request.Query("user"); return true; });
            context.Engine.On<BeforePublishEvent>(e =>
            {
                if (e.Data?.ToString().Contains("spam") == true) e.Refuse("no spam");
                else if (e.Data is JObject o) o["checked"] = true;
                return true;
            });
        });
        using var conn = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&sub=room&user=ann");
        var ann = new V2Client(server.Client);
        ann.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
        var bob = await ConnectAsync(server, "room");

        using var sent = await server.Client.PostAsync("/conn", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["cmd"] = "pub", ["cid"] = ann.Id, ["cs"] = ann.Secret, ["channel"] = "room", ["event"] = "say", ["data"] = "{\"text\":\"hi\",\"from\":\"forged\"}",
        }));
        Assert.AreEqual(HttpStatusCode.OK, sent.StatusCode, await sent.Content.ReadAsStringAsync());
        var report = JObject.Parse(await sent.Content.ReadAsStringAsync());
        Assert.AreEqual(2, (int)report["delivered"]!);
        var (_, frames) = await bob.PollAsync();
        var said = frames.Last(f => (string?)f["event"] == "say");
        Assert.AreEqual("ann", (string?)said["from"]);
        Assert.AreEqual("hi", (string?)said["data"]!["text"]);
        Assert.IsTrue((bool)said["data"]!["checked"]!);

        using var spam = await server.Client.GetAsync(Command(ann, "pub", "room", "&data=" + Uri.EscapeDataString("\"spam!\"")));
        Assert.AreEqual(HttpStatusCode.Forbidden, spam.StatusCode);
        Assert.AreEqual("no spam", (string?)JObject.Parse(await spam.Content.ReadAsStringAsync())["message"]);
        using var closed = await server.Client.GetAsync(Command(ann, "pub", "closed", "&data=1"));
        Assert.AreEqual(HttpStatusCode.Forbidden, closed.StatusCode);
        using var bad = await server.Client.GetAsync(Command(ann, "pub", "room", "&data=%7Bnope"));
        Assert.AreEqual(HttpStatusCode.BadRequest, bad.StatusCode);
    }
}
