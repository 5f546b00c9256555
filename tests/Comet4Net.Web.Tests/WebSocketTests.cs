using System.Net;
using System.Net.WebSockets;
using System.Text;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>The websocket work style, spoken by a raw ClientWebSocket written from docs/protocol.md.</summary>
[TestClass]
public sealed class WebSocketTests
{
    private static async Task<V2Client> ConnectAsync(CometTestServer server, string query = "&ws=websocket")
    {
        var client = new V2Client(server.Client);
        using var conn = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0" + query);
        Assert.AreEqual(HttpStatusCode.OK, conn.StatusCode);
        client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
        return client;
    }

    private static async Task<ClientWebSocket> OpenAsync(CometTestServer server, V2Client client, string? origin = null)
    {
        var socket = new ClientWebSocket();
        if (origin is not null) socket.Options.SetRequestHeader("Origin", origin);
        var url = new Uri(server.BaseUrl.Replace("http://", "ws://") + client.RevivalUrl("websocket"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(url, cts.Token);
        return socket;
    }

    /// <summary>Reads messages until <paramref name="until"/> holds; each message is NDJSON lines.</summary>
    private static async Task<List<JObject>> ReadAsync(ClientWebSocket socket, V2Client client, Func<List<JObject>, bool> until)
    {
        var frames = new List<JObject>();
        var buffer = new byte[65536];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!until(frames))
        {
            var text = new StringBuilder();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, cts.Token);
                text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
            } while (!result.EndOfMessage);
            if (result.MessageType == WebSocketMessageType.Close) break;
            foreach (var frame in V2Client.Lines(text.ToString()))
            {
                if (frame["seq"] is { } seq) client.LastSeq = (long)seq;
                frames.Add(frame);
            }
        }
        return frames;
    }

    private static int[] Numbers(IEnumerable<JObject> frames) =>
        frames.Where(f => (string?)f["channel"] == "news").Select(f => (int)f["data"]!).ToArray();

    private static Task AckAsync(ClientWebSocket socket, long seq) =>
        socket.SendAsync(Encoding.UTF8.GetBytes($"{{\"cmd\":\"ack\",\"seq\":{seq}}}"), WebSocketMessageType.Text, true, CancellationToken.None);

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Messages_arrive_over_the_socket_and_a_new_socket_resumes_after_the_ack_exactly_once()
    {
        await using var server = await CometTestServer.StartAsync();
        var client = await ConnectAsync(server);
        Assert.AreEqual("websocket", client.WorkStyle);
        using (var socket = await OpenAsync(server, client))
        {
            for (var i = 0; i < 5; i++) server.Engine.SendToAll("news", i);
            var frames = await ReadAsync(socket, client, f => Numbers(f).Length >= 5);
            CollectionAssert.AreEqual(new[] { 0, 1, 2, 3, 4 }, Numbers(frames));
            await AckAsync(socket, client.LastSeq);
            server.Engine.SendTo("news", client.Id, 5); // sent while the socket closes: kept for the next one
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }
        await Wait.UntilAsync(() => server.Engine.GetConnection(client.Id)?.State == ConnectionState.Dying, 10, "the connection to be dying");
        server.Engine.SendToAll("news", 6);
        using (var again = await OpenAsync(server, client))
        {
            var frames = await ReadAsync(again, client, f => Numbers(f).Length >= 2);
            CollectionAssert.AreEqual(new[] { 5, 6 }, Numbers(frames), "everything after the ack, once");
        }
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Auto_picks_a_WebSocket_for_clients_that_can_and_a_stream_for_the_others()
    {
        await using var server = await CometTestServer.StartAsync();
        Assert.AreEqual("websocket", (await ConnectAsync(server, "&wsok=1")).WorkStyle);
        Assert.AreEqual("stream", (await ConnectAsync(server, "")).WorkStyle);
        var legacy = new LegacyClient(server.Client);
        await legacy.ConnectAsync();
        Assert.AreNotEqual("websocket", legacy.WorkStyle, "legacy clients never see it");
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_plain_request_on_websocket_and_an_upgrade_from_another_origin_are_refused()
    {
        await using var server = await CometTestServer.StartAsync(o => o.AllowedOrigins = "https://app.example");
        var client = await ConnectAsync(server);
        using (var plain = await server.Client.GetAsync(client.RevivalUrl("websocket")))
        {
            Assert.AreEqual(HttpStatusCode.BadRequest, plain.StatusCode);
            Assert.Contains("WebSocket", await plain.Content.ReadAsStringAsync());
        }
        await Assert.ThrowsAsync<WebSocketException>(() => OpenAsync(server, client, "https://evil.example"));
        using var allowed = await OpenAsync(server, client, "https://app.example");
        Assert.AreEqual(WebSocketState.Open, allowed.State);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    [DataRow("binary")]
    [DataRow("garbage")]
    [DataRow("huge")]
    public async Task A_bad_message_closes_the_socket_with_a_reason_and_the_server_carries_on(string kind)
    {
        await using var server = await CometTestServer.StartAsync();
        var client = await ConnectAsync(server);
        using (var socket = await OpenAsync(server, client))
        {
            var payload = kind switch
            {
                "binary" => new byte[] { 1, 2, 3 },
                "garbage" => Encoding.UTF8.GetBytes("{\"cmd\":\"drop-table\""),
                _ => Encoding.UTF8.GetBytes(new string('x', 10000)),
            };
            await socket.SendAsync(payload, kind == "binary" ? WebSocketMessageType.Binary : WebSocketMessageType.Text, true, CancellationToken.None);
            var buffer = new byte[4096];
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            WebSocketReceiveResult result;
            do result = await socket.ReceiveAsync(buffer, cts.Token);
            while (result.MessageType != WebSocketMessageType.Close);
            Assert.AreEqual(kind == "huge" ? WebSocketCloseStatus.MessageTooBig : WebSocketCloseStatus.InvalidPayloadData, result.CloseStatus);
        }
        server.Engine.SendToAll("news", 1);
        using var again = await OpenAsync(server, client);
        CollectionAssert.AreEqual(new[] { 1 }, Numbers(await ReadAsync(again, client, f => Numbers(f).Length >= 1)));
    }

    private static async Task<JObject> CommandAsync(ClientWebSocket socket, V2Client client, string json, int id)
    {
        await socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);
        var frames = await ReadAsync(socket, client, f => f.Any(x => (string?)x["data"]?["type"] == "reply" && (int?)x["data"]?["id"] == id));
        return (JObject)frames.Last(x => (string?)x["data"]?["type"] == "reply")["data"]!;
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Channel_commands_go_over_the_socket_with_the_rules_of_their_HTTP_forms()
    {
        await using var server = await CometTestServer.StartAsync(setup: c =>
        {
            c.RegisterChannel("room", new ChannelOptions { HistoryCount = 5, AllowPublish = true, AllowCount = true });
            c.Engine.On<Events.SubscribeEvent>(e => e.Channel != "secret");
        });
        server.Engine.SendToAll("room", "before");
        var client = await ConnectAsync(server, "&ws=websocket&sub=news");
        using var socket = await OpenAsync(server, client);

        var sub = await CommandAsync(socket, client, "{\"cmd\":\"sub\",\"channel\":\"room\",\"history\":5,\"id\":1}", 1);
        Assert.IsTrue((bool)sub["ok"]!);
        var history = V2Client.Lines((string)sub["frames"]!);
        Assert.AreEqual("before", (string?)history[0]["data"]);
        Assert.IsTrue((bool)history[0]["history"]!);

        var pub = await CommandAsync(socket, client, "{\"cmd\":\"pub\",\"channel\":\"room\",\"data\":\"{\\\"text\\\":\\\"hi\\\"}\",\"id\":2}", 2);
        Assert.IsTrue((bool)pub["ok"]!);
        Assert.AreEqual(1, (int)pub["delivered"]!);
        var own = await ReadAsync(socket, client, f => f.Any(x => (string?)x["channel"] == "room"));
        Assert.AreEqual("hi", (string?)own.First(x => (string?)x["channel"] == "room")["data"]!["text"]);

        var count = await CommandAsync(socket, client, "{\"cmd\":\"count\",\"channel\":\"room\",\"id\":3}", 3);
        Assert.AreEqual(1, (int)count["connections"]!);
        var refused = await CommandAsync(socket, client, "{\"cmd\":\"sub\",\"channel\":\"secret\",\"id\":4}", 4);
        Assert.AreEqual("refused", (string?)refused["error"]);
        var notAllowed = await CommandAsync(socket, client, "{\"cmd\":\"pub\",\"channel\":\"news\",\"data\":\"1\",\"id\":5}", 5);
        Assert.AreEqual("forbidden", (string?)notAllowed["error"]);
        var bad = await CommandAsync(socket, client, "{\"cmd\":\"sub\",\"channel\":\"no spaces\",\"id\":6}", 6);
        Assert.AreEqual("bad-request", (string?)bad["error"]);
        var unsub = await CommandAsync(socket, client, "{\"cmd\":\"unsub\",\"channel\":\"room\",\"id\":7}", 7);
        Assert.IsTrue((bool)unsub["ok"]!);
        server.Engine.SendToAll("room", "not any more");
        server.Engine.SendToAll("news", 9);
        var after = await ReadAsync(socket, client, f => Numbers(f).Length >= 1);
        Assert.IsFalse(after.Any(x => (string?)x["channel"] == "room"), "unsubscribed");
    }
}
