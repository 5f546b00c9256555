using System.Net;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// Token refresh without reconnecting (docs/protocol.md, "Token refresh"): the expiry in the conn frame,
/// cmd=refresh on HTTP, JSON-P and a socket, the user that cannot change, and token-expired then refresh
/// then resume with nothing lost. The server's wall clock is shifted (the TimeProvider seam) instead of waiting.
/// </summary>
[TestClass]
public sealed class TokenRefreshTests
{
    private const string Key = "token-refresh-tests-key-0123456789abcdef";

    /// <summary>The system clock with a wall time that tests move forward (timers and timestamps stay real).</summary>
    private sealed class ShiftedClock : TimeProvider
    {
        private long _offsetTicks;

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));

        internal void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
    }

    private static Task<CometTestServer> StartAsync(ShiftedClock clock) => CometTestServer.StartAsync(o =>
    {
        o.TokenKey = Key;
        o.AllowJsonp = true;
        o.CacheExpires = 600_000; // the shifted wall clock must not age the kept messages out
    }, services: s => s.AddSingleton<TimeProvider>(clock));

    private static async Task<V2Client> ConnectAsync(CometTestServer server, string token, string ws)
    {
        var client = new V2Client(server.Client);
        using var conn = await server.Client.GetAsync($"/conn?cmd=conn&cv=2.0.0&ws={ws}&token={Uri.EscapeDataString(token)}");
        Assert.AreEqual(HttpStatusCode.OK, conn.StatusCode, await conn.Content.ReadAsStringAsync());
        client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
        return client;
    }

    private static async Task<(HttpStatusCode Status, JObject Body)> RefreshAsync(CometTestServer server, V2Client client, string? token, string? secret = null)
    {
        var form = new Dictionary<string, string> { ["cmd"] = "refresh", ["cid"] = client.Id, ["cs"] = secret ?? client.Secret };
        if (token is not null) form["token"] = token;
        using var response = await server.Client.PostAsync("/conn", new FormUrlEncodedContent(form));
        return (response.StatusCode, JObject.Parse(await response.Content.ReadAsStringAsync()));
    }

    private static int[] News(IEnumerable<JObject> frames) =>
        frames.Where(f => (string?)f["channel"] == "news").Select(f => (int)f["data"]!).ToArray();

    private static string? SystemType(JObject frame) => (string?)frame["channel"] == "c4j" ? (string?)frame["data"]?["type"] : null;

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task The_conn_frame_says_the_expiry_and_a_refresh_moves_it_for_the_same_user_only()
    {
        var clock = new ShiftedClock();
        await using var server = await StartAsync(clock);
        var tokens = server.Context.Tokens!;
        var client = await ConnectAsync(server, tokens.Issue("alice", TimeSpan.FromSeconds(60)), "lpool");
        var expires = (long)client.ConnectData["expires"]!;
        Assert.IsInRange(58_000, 60_000, (long)client.ConnectData["ttl"]!);

        var (status, body) = await RefreshAsync(server, client, tokens.Issue("alice", TimeSpan.FromSeconds(600)));
        Assert.AreEqual(HttpStatusCode.OK, status, body.ToString());
        Assert.IsTrue((bool)body["ok"]!);
        Assert.IsInRange(expires + 530_000, expires + 541_000, (long)body["expires"]!);
        Assert.IsInRange(590_000, 600_000, (long)body["ttl"]!);

        (status, body) = await RefreshAsync(server, client, tokens.Issue("bob"));
        Assert.AreEqual(HttpStatusCode.Forbidden, status);
        Assert.AreEqual("forbidden", (string?)body["error"]);
        StringAssert.Contains((string?)body["message"], "another user");
        (status, body) = await RefreshAsync(server, client, "v1.x.y.z");
        Assert.AreEqual(HttpStatusCode.Unauthorized, status);
        Assert.AreEqual("invalid-token", (string?)body["error"]);
        (status, body) = await RefreshAsync(server, client, tokens.Issue("alice", TimeSpan.FromSeconds(-1)));
        Assert.AreEqual("invalid-token", (string?)body["error"], "an expired token is no refresh");
        (status, body) = await RefreshAsync(server, client, null);
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        StringAssert.Contains((string?)body["message"], "'token'");
        (status, _) = await RefreshAsync(server, client, tokens.Issue("alice"), secret: "wrong");
        Assert.AreEqual(HttpStatusCode.Forbidden, status);
        Assert.AreEqual("alice", server.Engine.GetConnection(client.Id)!.UserId);

        // JSON-P: the same command and answer inside the call.
        using var jsonp = await server.Client.GetAsync($"/conn?cmd=refresh&cid={client.Id}&cs={client.Secret}&callback=cb&token="
            + Uri.EscapeDataString(tokens.Issue("alice", TimeSpan.FromSeconds(900))));
        var text = await jsonp.Content.ReadAsStringAsync();
        StringAssert.StartsWith(text, "/**/cb({\"ok\":true,\"expires\":");
        (status, body) = await RefreshAsync(server, client, tokens.Issue("mallory"));
        Assert.AreEqual(HttpStatusCode.Forbidden, status);

        // A server without tokens has nothing to refresh.
        await using var plain = await CometTestServer.StartAsync();
        var other = new V2Client(plain.Client);
        await other.ConnectAsync("lpool");
        Assert.IsFalse(other.ConnectData.ContainsKey("expires"));
        (status, body) = await RefreshAsync(plain, other, "x");
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        StringAssert.Contains((string?)body["message"], "Comet:TokenKey");
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Past_its_expiry_a_stream_ends_with_token_expired_and_after_a_refresh_resumes_with_nothing_lost()
    {
        var clock = new ShiftedClock();
        await using var server = await StartAsync(clock);
        var tokens = server.Context.Tokens!;
        var client = await ConnectAsync(server, tokens.Issue("alice", TimeSpan.FromSeconds(60)), "stream");
        var got = new List<int>();
        var ended = new List<string?>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        server.Engine.SendToAll("news", 1);
        server.Engine.SendToAll("news", 2);
        await foreach (var frame in client.StreamAsync(cts.Token))
        {
            got.AddRange(News([frame]));
            if (got.Count == 2 && ended.Count == 0)
            {
                clock.Advance(TimeSpan.FromSeconds(61));
                server.Engine.SendToAll("news", 3); // sent past the expiry: kept for the connection, not delivered yet
                ended.Add(null);
            }
            if (SystemType(frame) == "token-expired") ended.Add((string?)frame["data"]!["message"]);
        }
        Assert.HasCount(2, ended, "the stream ended with a token-expired frame");
        StringAssert.Contains(ended[1], "cmd=refresh");
        server.Engine.SendToAll("news", 4);

        // Until it refreshes, nothing is delivered: a revival gets token-expired again, a channel command 401.
        var (status, frames) = await client.PollAsync(ws: "lpool");
        Assert.AreEqual(HttpStatusCode.OK, status);
        Assert.AreEqual("token-expired", SystemType(frames.Single()));
        using (var count = await server.Client.GetAsync($"/conn?cmd=count&cid={client.Id}&cs={client.Secret}&channel=news"))
        {
            Assert.AreEqual(HttpStatusCode.Unauthorized, count.StatusCode);
            Assert.AreEqual("token-expired", (string?)JObject.Parse(await count.Content.ReadAsStringAsync())["error"]);
        }

        var (refreshed, body) = await RefreshAsync(server, client, tokens.Issue("alice", TimeSpan.FromSeconds(60)));
        Assert.AreEqual(HttpStatusCode.OK, refreshed, body.ToString());
        (status, frames) = await client.PollAsync(ws: "lpool");
        Assert.AreEqual(HttpStatusCode.OK, status);
        got.AddRange(News(frames));
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 4 }, got, "every message exactly once, in order");
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_socket_refreshes_over_itself_and_past_the_expiry_closes_with_token_expired_then_resumes_after_a_refresh()
    {
        var clock = new ShiftedClock();
        await using var server = await StartAsync(clock);
        var tokens = server.Context.Tokens!;
        var client = await ConnectAsync(server, tokens.Issue("alice", TimeSpan.FromSeconds(60)), "websocket");
        using var socket = await OpenAsync(server, client);
        server.Engine.SendToAll("news", 1);
        var got = News(await ReadAsync(socket, client, f => News(f).Length >= 1)).ToList();

        var reply = await CommandAsync(socket, client, $"{{\"cmd\":\"refresh\",\"token\":\"{tokens.Issue("alice", TimeSpan.FromSeconds(120))}\",\"id\":1}}", 1);
        Assert.IsTrue((bool?)reply["ok"], reply.ToString());
        Assert.IsInRange(110_000, 120_000, (long)reply["ttl"]!);
        reply = await CommandAsync(socket, client, $"{{\"cmd\":\"refresh\",\"token\":\"{tokens.Issue("bob")}\",\"id\":2}}", 2);
        Assert.AreEqual("forbidden", (string?)reply["error"]);

        clock.Advance(TimeSpan.FromSeconds(90)); // past the first token's life, within the refreshed one's: still open
        server.Engine.SendToAll("news", 2);
        got.AddRange(News(await ReadAsync(socket, client, f => News(f).Length >= 1)));
        clock.Advance(TimeSpan.FromSeconds(31));
        var last = await ReadAsync(socket, client, f => f.Any(x => SystemType(x) == "token-expired"));
        Assert.AreEqual("token-expired", SystemType(last[^1]));
        await ReadAsync(socket, client, _ => false); // then the close
        Assert.AreEqual(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        Assert.AreEqual("token-expired", socket.CloseStatusDescription);
        server.Engine.SendToAll("news", 3);

        var (status, body) = await RefreshAsync(server, client, tokens.Issue("alice", TimeSpan.FromSeconds(60)));
        Assert.AreEqual(HttpStatusCode.OK, status, body.ToString());
        using var again = await OpenAsync(server, client);
        got.AddRange(News(await ReadAsync(again, client, f => News(f).Length >= 1)));
        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, got);
    }

    private static async Task<ClientWebSocket> OpenAsync(CometTestServer server, V2Client client)
    {
        var socket = new ClientWebSocket();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new Uri(server.BaseUrl.Replace("http://", "ws://") + client.RevivalUrl("websocket")), cts.Token);
        return socket;
    }

    /// <summary>Reads messages until <paramref name="until"/> holds or the socket closes; each message is NDJSON lines.</summary>
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

    private static async Task<JObject> CommandAsync(ClientWebSocket socket, V2Client client, string json, int id)
    {
        await socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);
        var frames = await ReadAsync(socket, client, f => f.Any(x => SystemType(x) == "reply" && (int?)x["data"]?["id"] == id));
        return (JObject)frames.Last(x => SystemType(x) == "reply")["data"]!;
    }
}
