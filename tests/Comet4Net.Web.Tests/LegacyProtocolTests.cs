using System.Net;
using Comet4Net.Events;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>The legacy dialect, driven over HTTP as comet4j-0.1.7.js drives it (docs/protocol.md).</summary>
[TestClass]
public sealed class LegacyProtocolTests
{
    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Conn_answers_one_c4j_frame_with_id_channels_work_style_and_timeout()
    {
        await using var server = await CometTestServer.StartAsync();
        using var response = await server.Client.GetAsync("/conn?cmd=conn&cv=0.1.7&ram=0.1");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.AreEqual("text/html; charset=UTF-8", response.Content.Headers.ContentType?.ToString());
        Assert.IsTrue(response.Headers.CacheControl?.NoCache);
        Assert.AreEqual("no-cache", response.Headers.Pragma.ToString());
        Assert.AreEqual("0", response.Content.Headers.GetValues("Expires").Single());
        var frame = LegacyClient.SingleFrame(await response.Content.ReadAsStringAsync());
        Assert.AreEqual("c4j", (string?)frame["channel"]);
        Assert.IsGreaterThan(1_700_000_000_000L, (long)frame["time"]!);
        var data = (JObject)frame["data"]!;
        var id = (string)data["cId"]!;
        Assert.AreEqual(22, id.Length);
        CollectionAssert.AreEqual(new[] { "hello", "news" }, data["channels"]!.Select(t => (string)t!).ToArray());
        Assert.AreEqual("lpool", (string?)data["ws"]); // no browser User-Agent: long polling
        Assert.AreEqual(60000, (int)data["timeout"]!);
        var connection = server.Engine.GetConnection(id);
        Assert.IsNotNull(connection);
        Assert.AreEqual(ConnectionState.Dying, connection.State);
        Assert.AreEqual("0.1.7", connection.ClientVersion);
        Assert.AreEqual(CometDialect.Legacy, connection.Dialect);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    [DataRow(LegacyClient.ChromeAgent, "stream")]
    [DataRow("Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0", "stream")]
    [DataRow("Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1)", "lpool")]
    [DataRow("curl/8.0", "lpool")]
    public async Task Auto_streams_for_browsers_that_read_responses_as_they_arrive(string agent, string expected)
    {
        await using var server = await CometTestServer.StartAsync();
        var client = new LegacyClient(server.Client);
        await client.ConnectAsync(agent);
        Assert.AreEqual(expected, client.WorkStyle);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Configured_work_style_applies_to_every_legacy_client()
    {
        await using var server = await CometTestServer.StartAsync(o => o.WorkStyle = "lpool");
        var client = new LegacyClient(server.Client);
        await client.ConnectAsync(LegacyClient.ChromeAgent);
        Assert.AreEqual("lpool", client.WorkStyle);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Long_poll_answers_one_frame_per_response_in_order_keeping_what_arrived_while_dying()
    {
        await using var server = await CometTestServer.StartAsync(o => o.WorkStyle = "lpool");
        var client = new LegacyClient(server.Client);
        await client.ConnectAsync();
        server.Engine.SendToAll("hello", "one");
        server.Engine.SendTo("hello", client.Id, new { n = 2 });
        server.Engine.SendToAll("news", "three");
        var a = await client.PollAsync();
        var b = await client.PollAsync();
        var c = await client.PollAsync();
        Assert.AreEqual("one", (string?)a!["data"]);
        Assert.AreEqual(2, (int)b!["data"]!["n"]!);
        Assert.AreEqual("news", (string?)c!["channel"]);
        Assert.AreEqual("three", (string?)c["data"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Long_poll_is_held_until_a_message_arrives()
    {
        await using var server = await CometTestServer.StartAsync(o => o.WorkStyle = "lpool");
        var client = new LegacyClient(server.Client);
        await client.ConnectAsync();
        var poll = client.PollAsync();
        var connection = server.Engine.GetConnection(client.Id)!;
        await Wait.UntilAsync(() => connection.State == ConnectionState.Alive, what: "the poll to attach");
        Assert.IsFalse(poll.IsCompleted);
        server.Engine.SendToAll("hello", "late");
        var frame = await poll;
        Assert.AreEqual("late", (string?)frame!["data"]);
        await Wait.UntilAsync(() => connection.State == ConnectionState.Dying, what: "the connection to be dying between polls");
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Long_poll_timeout_answers_the_dying_frame()
    {
        await using var server = await CometTestServer.StartAsync(o => { o.WorkStyle = "lpool"; o.Timeout = 300; });
        var client = new LegacyClient(server.Client);
        await client.ConnectAsync();
        Assert.AreEqual(300, client.Timeout);
        var frame = await client.PollAsync();
        Assert.AreEqual("c4j", (string?)frame!["channel"]);
        Assert.AreEqual("dying", (string?)frame["data"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Stream_writes_each_message_as_whole_frames_and_ends_with_dying_at_timeout()
    {
        await using var server = await CometTestServer.StartAsync(o => { o.WorkStyle = "stream"; o.Timeout = 1500; });
        var client = new LegacyClient(server.Client);
        await client.ConnectAsync();
        Assert.AreEqual("stream", client.WorkStyle);
        server.Engine.SendToAll("hello", "kept while dying");
        var frames = new List<JObject>();
        await foreach (var frame in client.StreamAsync())
        {
            frames.Add(frame);
            if (frames.Count == 1) server.Engine.SendToAll("hello", "live 1");
            if (frames.Count == 2) server.Engine.SendTo("news", client.Id, "live 2");
        }
        CollectionAssert.AreEqual(new[] { "kept while dying", "live 1", "live 2", "dying" },
            frames.Select(f => (string?)f["data"]).ToArray());
        Assert.AreEqual("c4j", (string?)frames[^1]["channel"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_connection_dying_longer_than_ConnExpires_is_removed_and_Drop_fires()
    {
        var drops = new List<(string Id, DropReason Reason)>();
        await using var server = await CometTestServer.StartAsync(
            o => { o.ConnExpires = 300; o.ConnFrequency = 100; },
            context => context.Engine.On<DropEvent>(e => { lock (drops) drops.Add((e.Connection!.Id, e.Reason)); }));
        var client = new LegacyClient(server.Client);
        await client.ConnectAsync("curl/8");
        await Wait.UntilAsync(() => { lock (drops) return drops.Count == 1; }, what: "the drop event");
        Assert.AreEqual((client.Id, DropReason.Expired), drops[0]);
        Assert.IsNull(server.Engine.GetConnection(client.Id));
        // What Comet4J answered for a removed cid: an empty body (its client retries, then stops).
        Assert.IsNull(await client.PollAsync());
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Drop_removes_the_connection_and_ends_its_request()
    {
        var drops = 0;
        await using var server = await CometTestServer.StartAsync(
            o => o.WorkStyle = "lpool",
            context => context.Engine.On<DropEvent>(e => { if (e.Reason == DropReason.Client) Interlocked.Increment(ref drops); }));
        var client = new LegacyClient(server.Client);
        await client.ConnectAsync();
        var poll = client.PollAsync();
        await Wait.UntilAsync(() => server.Engine.GetConnection(client.Id)?.State == ConnectionState.Alive);
        using var drop = await client.DropAsync();
        Assert.AreEqual(HttpStatusCode.OK, drop.StatusCode);
        Assert.AreEqual("", await drop.Content.ReadAsStringAsync());
        Assert.IsNull(server.Engine.GetConnection(client.Id));
        Assert.AreEqual(1, drops);
        Assert.IsNull(await poll.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task The_pages_own_parameters_reach_listeners_and_POST_works_like_GET()
    {
        var seen = new List<string?>();
        await using var server = await CometTestServer.StartAsync(null,
            context => context.Engine.On<ConnectEvent>(e => seen.Add(e.Connection!.Request.Query("room") + "/" + e.Connection.Request.Query("user"))));
        var client = new LegacyClient(server.Client, param: "room=blue&user=ann");
        await client.ConnectAsync();
        CollectionAssert.AreEqual(new[] { "blue/ann" }, seen);

        using var post = await server.Client.PostAsync("/conn", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["cmd"] = "conn", ["cv"] = "0.1.7", ["room"] = "red",
        }));
        Assert.AreEqual(HttpStatusCode.OK, post.StatusCode);
        var frame = LegacyClient.SingleFrame(await post.Content.ReadAsStringAsync());
        Assert.AreEqual(22, ((string)frame["data"]!["cId"]!).Length);
        Assert.AreEqual("red/", seen[1]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Legacy_clients_are_refused_unless_the_application_allows_them()
    {
        await using var server = await CometTestServer.StartAsync(o => o.AllowLegacyClients = false);
        using var response = await server.Client.GetAsync("/conn?cmd=conn&cv=0.1.7");
        Assert.AreEqual(HttpStatusCode.Forbidden, response.StatusCode);
        var body = JObject.Parse(await response.Content.ReadAsStringAsync());
        Assert.AreEqual("forbidden", (string?)body["error"]);
        Assert.Contains("AllowLegacyClients", (string)body["message"]!);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_legacy_connection_answers_only_the_address_that_opened_it()
    {
        await using var server = await CometTestServer.StartAsync(o => o.WorkStyle = "lpool");
        var owner = new LegacyClient(server.Client);
        await owner.ConnectAsync();
        using var other = server.NewClient("127.0.0.2");
        using var stolen = await other.GetAsync($"/conn?cmd=revival&cid={owner.Id}");
        Assert.AreEqual(HttpStatusCode.Forbidden, stolen.StatusCode);
        using var stolenDrop = await other.GetAsync($"/conn?cmd=drop&cid={owner.Id}");
        Assert.AreEqual(HttpStatusCode.Forbidden, stolenDrop.StatusCode);
        server.Engine.SendToAll("hello", "still mine");
        Assert.AreEqual("still mine", (string?)(await owner.PollAsync())!["data"]);
    }
}
