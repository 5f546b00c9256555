using System.Net;
using System.Net.WebSockets;
using System.Text;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// <c>ep</c> (docs/protocol.md, Resume): a revival whose position belongs to another epoch of the log
/// is told of a gap before anything else, whatever the work style.
/// </summary>
[TestClass]
public sealed class EpochTests
{
    private static async Task<V2Client> ConnectAsync(CometTestServer server, string query)
    {
        var client = new V2Client(server.Client);
        using var conn = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0" + query);
        Assert.AreEqual(HttpStatusCode.OK, conn.StatusCode);
        client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
        return client;
    }

    private static bool IsGap(JObject frame) => (string?)frame["channel"] == "c4j" && (string?)frame["data"]?["type"] == "gap";

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_long_poll_with_another_epoch_gets_a_gap_first_then_what_this_log_holds()
    {
        await using var server = await CometTestServer.StartAsync();
        var client = await ConnectAsync(server, "&ws=lpool");
        var start = client.LastSeq;
        server.Engine.SendToAll("news", 1);

        // A position of another log: a few numbers before this connection's start, with that log's epoch.
        client.LastSeq = start - 5;
        using var response = await server.Client.GetAsync(client.RevivalUrl() + "&ep=another");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        var frames = V2Client.Lines(await response.Content.ReadAsStringAsync());
        Assert.IsTrue(frames.Count >= 2 && IsGap(frames[0]), "a gap notice before anything else: " + string.Join(" | ", frames));
        Assert.AreEqual(start - 4, (long)frames[0]["data"]!["from"]!);
        Assert.AreEqual(start, (long)frames[0]["data"]!["to"]!);
        CollectionAssert.AreEqual(new[] { 1 }, frames.Where(f => (string?)f["channel"] == "news").Select(f => (int)f["data"]!).ToArray(),
            "what this log holds for the connection follows the gap");
        Assert.AreEqual(1, frames.Count(IsGap), "one gap notice");
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task The_same_epoch_or_a_position_already_in_this_log_gets_no_gap()
    {
        await using var server = await CometTestServer.StartAsync();
        var client = await ConnectAsync(server, "&ws=lpool");
        var start = client.LastSeq;
        var epoch = (string)client.ConnectData["epoch"]!;
        server.Engine.SendToAll("news", 1);

        client.LastSeq = start - 5;
        using (var same = await server.Client.GetAsync(client.RevivalUrl() + "&ep=" + epoch))
        {
            var frames = V2Client.Lines(await same.Content.ReadAsStringAsync());
            Assert.IsFalse(frames.Any(IsGap), "this log's own epoch: " + string.Join(" | ", frames));
            client.LastSeq = (long)frames.Last(f => f["seq"] is not null)["seq"]!;
        }

        // A client that kept an old epoch but has read this log since: its position is this log's.
        server.Engine.SendToAll("news", 2);
        using var later = await server.Client.GetAsync(client.RevivalUrl() + "&ep=another");
        var next = V2Client.Lines(await later.Content.ReadAsStringAsync());
        Assert.IsFalse(next.Any(IsGap), string.Join(" | ", next));
        CollectionAssert.AreEqual(new[] { 2 }, next.Where(f => (string?)f["channel"] == "news").Select(f => (int)f["data"]!).ToArray());
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_socket_with_another_epoch_gets_a_gap_first()
    {
        await using var server = await CometTestServer.StartAsync();
        var client = await ConnectAsync(server, "&ws=websocket");
        var start = client.LastSeq;
        client.LastSeq = start - 3;
        using var socket = new ClientWebSocket();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new Uri(server.BaseUrl.Replace("http://", "ws://") + client.RevivalUrl("websocket") + "&ep=another"), cts.Token);

        var buffer = new byte[65536];
        var text = new StringBuilder();
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, cts.Token);
            text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
        } while (!result.EndOfMessage);
        var first = V2Client.Lines(text.ToString())[0];
        Assert.IsTrue(IsGap(first), "the first frame on the socket: " + text);
        Assert.AreEqual(start - 2, (long)first["data"]!["from"]!);
        Assert.AreEqual(start, (long)first["data"]!["to"]!);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
    }
}
