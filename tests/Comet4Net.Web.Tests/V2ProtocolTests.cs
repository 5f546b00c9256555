using System.Net;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>The v2 dialect: sequence numbers, acks, batches, heartbeats, SSE, explicit reconnects.</summary>
[TestClass]
public sealed class V2ProtocolTests
{
    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Conn_returns_a_secret_and_the_starting_sequence_number()
    {
        await using var server = await CometTestServer.StartAsync();
        server.Engine.SendToAll("hello", "before");
        var client = new V2Client(server.Client);
        await client.ConnectAsync("lpool");
        Assert.AreEqual(22, client.Secret.Length);
        Assert.AreEqual(server.Engine.GetStatistics().LastSequence, client.LastSeq);
        Assert.AreEqual(2, (int)client.ConnectData["v"]!);
        Assert.AreEqual(15000, (int)client.ConnectData["heartbeat"]!);
        Assert.AreEqual(CometDialect.V2, server.Engine.GetConnection(client.Id)!.Dialect);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_long_poll_carries_every_waiting_frame_and_an_ack_resends_exactly_the_rest()
    {
        await using var server = await CometTestServer.StartAsync();
        var client = new V2Client(server.Client);
        await client.ConnectAsync("lpool");
        var start = client.LastSeq;
        for (var i = 0; i < 100; i++)
        {
            if (i % 3 == 0) server.Engine.SendTo("hello", client.Id, i);
            else server.Engine.SendToAll("news", i);
        }
        var (status, frames) = await client.PollAsync();
        Assert.AreEqual(HttpStatusCode.OK, status);
        CollectionAssert.AreEqual(Enumerable.Range(0, 100).ToArray(), frames.Select(f => (int)f["data"]!).ToArray());

        // The answer was lost: asking again from the old ack gets the same frames again.
        client.LastSeq = (long)frames[49]["seq"]!;
        var (_, again) = await client.PollAsync();
        CollectionAssert.AreEqual(Enumerable.Range(50, 50).ToArray(), again.Select(f => (int)f["data"]!).ToArray());
        Assert.IsGreaterThan(start, (long)again[0]["seq"]!);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Revival_and_drop_need_the_connection_secret()
    {
        await using var server = await CometTestServer.StartAsync();
        var client = new V2Client(server.Client);
        await client.ConnectAsync("lpool");
        using var noSecret = await server.Client.GetAsync($"/conn?cmd=revival&cid={client.Id}&ack=0");
        Assert.AreEqual(HttpStatusCode.Forbidden, noSecret.StatusCode);
        using var wrong = await server.Client.GetAsync($"/conn?cmd=drop&cid={client.Id}&cs=AAAAAAAAAAAAAAAAAAAAAA");
        Assert.AreEqual(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.AreEqual("forbidden", (string?)JObject.Parse(await wrong.Content.ReadAsStringAsync())["error"]);
        Assert.IsNotNull(server.Engine.GetConnection(client.Id));
        using var drop = await server.Client.GetAsync($"/conn?cmd=drop&cid={client.Id}&cs={client.Secret}");
        Assert.AreEqual(HttpStatusCode.OK, drop.StatusCode);
        Assert.IsNull(server.Engine.GetConnection(client.Id));
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task An_unknown_cid_gets_404_with_a_reconnect_frame()
    {
        await using var server = await CometTestServer.StartAsync();
        var client = new V2Client(server.Client);
        await client.ConnectAsync("lpool");
        using var drop = await server.Client.GetAsync($"/conn?cmd=drop&cid={client.Id}&cs={client.Secret}");
        var (status, frames) = await client.PollAsync();
        Assert.AreEqual(HttpStatusCode.NotFound, status);
        Assert.AreEqual("unknown-cid", (string?)frames[0]["error"]);
        Assert.AreEqual("c4j", (string?)frames[0]["channel"]);
        Assert.AreEqual("reconnect", (string?)frames[0]["data"]!["type"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_kicked_connection_is_told_why_and_not_invited_back()
    {
        await using var server = await CometTestServer.StartAsync();
        var client = new V2Client(server.Client);
        await client.ConnectAsync("lpool");
        var poll = client.PollAsync();
        await Wait.UntilAsync(() => server.Engine.GetConnection(client.Id)!.State == ConnectionState.Alive);
        Assert.IsTrue(server.Engine.Kick(server.Engine.GetConnection(client.Id)!, "spam"));
        var (status, frames) = await poll;
        Assert.AreEqual(HttpStatusCode.OK, status);
        Assert.AreEqual("kicked", (string?)frames.Single()["data"]!["type"]);
        Assert.AreEqual("spam", (string?)frames.Single()["data"]!["reason"]);
        var (again, body) = await client.PollAsync();
        Assert.AreEqual(HttpStatusCode.Gone, again);
        Assert.AreEqual("kicked", (string?)body[0]["error"]);
        Assert.AreEqual("spam", (string?)body[0]["data"]!["reason"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_client_away_longer_than_the_kept_history_gets_a_gap_frame()
    {
        await using var server = await CometTestServer.StartAsync(o => { o.MaxLogMessages = 10; });
        var client = new V2Client(server.Client);
        await client.ConnectAsync("lpool");
        var first = server.Engine.SendToAll("news", 0);
        for (var i = 1; i < 30; i++) server.Engine.SendToAll("news", i);
        var (_, frames) = await client.PollAsync();
        Assert.AreEqual("gap", (string?)frames[0]["data"]!["type"]);
        Assert.AreEqual(first, (long)frames[0]["data"]!["from"]!);
        Assert.AreEqual(first + 19, (long)frames[0]["data"]!["to"]!);
        CollectionAssert.AreEqual(Enumerable.Range(20, 10).ToArray(), frames.Skip(1).Select(f => (int)f["data"]!).ToArray());
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_newer_long_poll_supersedes_the_older_one()
    {
        await using var server = await CometTestServer.StartAsync();
        var client = new V2Client(server.Client);
        await client.ConnectAsync("lpool");
        var old = client.PollAsync();
        await Wait.UntilAsync(() => server.Engine.GetConnection(client.Id)!.State == ConnectionState.Alive);
        using var second = server.NewClient();
        var fresh = new V2Client(second);
        fresh.Accept(JObject.FromObject(new { channel = "c4j", data = client.ConnectData }));
        var newer = fresh.PollAsync();
        var (oldStatus, _) = await old;
        Assert.AreEqual(HttpStatusCode.NoContent, oldStatus);
        server.Engine.SendToAll("hello", "for the newer one");
        var (_, frames) = await newer;
        Assert.AreEqual("for the newer one", (string?)frames.Single()["data"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_stream_opens_with_a_heartbeat_sends_more_when_idle_and_ends_with_dying()
    {
        await using var server = await CometTestServer.StartAsync(o => { o.Heartbeat = 200; o.Timeout = 1500; });
        var client = new V2Client(server.Client);
        await client.ConnectAsync();
        Assert.AreEqual("stream", client.WorkStyle); // auto: v2 clients stream
        server.Engine.SendToAll("hello", 1);
        var types = new List<string>();
        await foreach (var frame in client.StreamAsync())
        {
            types.Add(frame["seq"] is null ? (string)frame["data"]!["type"]! : "msg");
        }
        Assert.AreEqual("hb", types[0]);
        Assert.AreEqual("msg", types[1]);
        Assert.IsGreaterThanOrEqualTo(3, types.Count(t => t == "hb"));
        Assert.AreEqual("dying", types[^1]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Sse_in_one_url_carries_ids_events_and_resumes_with_Last_Event_ID()
    {
        await using var server = await CometTestServer.StartAsync(o => o.Timeout = 2000);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var response = await server.Client.GetAsync("/conn?cmd=conn&ws=sse", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.AreEqual("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = new List<Sse.Event>();
        string? lastId = null;
        await foreach (var e in Sse.ReadAsync(response, cts.Token))
        {
            events.Add(e);
            if (e.Name == "c4j" && e.Data.Contains("\"conn\""))
            {
                server.Engine.SendToAll("news", new { n = 1 });
                server.Engine.SendToAll("hello", new { n = 2 });
            }
            if (e.Id is not null) lastId = e.Id;
            if (events.Count == 3) break;
        }
        Assert.AreEqual("c4j", events[0].Name);
        Assert.AreEqual("news", events[1].Name);
        Assert.AreEqual("{\"n\":1}", events[1].Data);
        Assert.AreEqual("hello", events[2].Name);
        Assert.AreEqual(long.Parse(events[1].Id!, System.Globalization.CultureInfo.InvariantCulture) + 1, long.Parse(lastId!, System.Globalization.CultureInfo.InvariantCulture));

        // Away: two messages go out; reconnecting with Last-Event-ID gets exactly those.
        server.Engine.SendToAll("news", new { n = 3 });
        server.Engine.SendToAll("news", new { n = 4 });
        using var again = new HttpRequestMessage(HttpMethod.Get, "/conn?cmd=conn&ws=sse");
        again.Headers.Add("Last-Event-ID", events[1].Id);
        using var resumed = await server.Client.SendAsync(again, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        var data = new List<string>();
        await foreach (var e in Sse.ReadAsync(resumed, cts.Token))
        {
            if (e.Name == "c4j") continue;
            data.Add(e.Data);
            if (data.Count == 3) break;
        }
        CollectionAssert.AreEqual(new[] { "{\"n\":2}", "{\"n\":3}", "{\"n\":4}" }, data);
    }
}
