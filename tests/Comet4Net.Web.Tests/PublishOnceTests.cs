using System.Net;
using System.Net.WebSockets;
using System.Text;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// <c>cmd=pub&amp;idem=KEY</c> as docs/protocol.md describes it: over HTTP, JSON-P and a socket, a repeat is
/// not appended again and its answer says <c>dup</c> with the first number; a bad key is a 400 from the catalogue.
/// </summary>
[TestClass]
public sealed class PublishOnceTests
{
    private static Task<CometTestServer> StartAsync() => CometTestServer.StartAsync(o => o.AllowJsonp = true,
        c => c.RegisterChannel("room", new ChannelOptions { AllowPublish = true }));

    private static async Task<(HttpStatusCode Status, JObject Body)> PubAsync(CometTestServer server, V2Client client, string data, string? key)
    {
        var form = new Dictionary<string, string> { ["cmd"] = "pub", ["cid"] = client.Id, ["cs"] = client.Secret, ["channel"] = "room", ["data"] = data };
        if (key is not null) form["idem"] = key;
        using var response = await server.Client.PostAsync("/conn", new FormUrlEncodedContent(form));
        return (response.StatusCode, JObject.Parse(await response.Content.ReadAsStringAsync()));
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_repeated_pub_over_HTTP_and_JSONP_is_answered_dup_with_the_first_number_and_delivered_once()
    {
        await using var server = await StartAsync();
        var sender = new V2Client(server.Client);
        await sender.ConnectAsync("lpool");
        var reader = new V2Client(server.Client);
        await reader.ConnectAsync("lpool");

        var (status, first) = await PubAsync(server, sender, "1", "a-1");
        Assert.AreEqual(HttpStatusCode.OK, status, first.ToString());
        Assert.IsNull(first["dup"]);
        var (_, again) = await PubAsync(server, sender, "1", "a-1");
        Assert.IsTrue((bool)again["dup"]!);
        Assert.AreEqual((long)first["seq"]!, (long)again["seq"]!);

        // JSON-P: a GET with the key in the query, answered inside the call.
        using var jsonp = await server.Client.GetAsync($"/conn?cmd=pub&cid={sender.Id}&cs={sender.Secret}&channel=room&data=1&idem=a-1&callback=cb");
        var body = await jsonp.Content.ReadAsStringAsync();
        StringAssert.Contains(body, "\"dup\":true");
        StringAssert.Contains(body, "\"seq\":" + (long)first["seq"]!);

        var (_, second) = await PubAsync(server, sender, "2", "a-2");
        var (_, plain) = await PubAsync(server, sender, "3", null);
        Assert.IsNull(plain["dup"]);
        var (_, frames) = await reader.PollAsync();
        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, frames.Where(f => (string?)f["channel"] == "room").Select(f => (int)f["data"]!).ToArray());
        Assert.IsGreaterThan((long)first["seq"]!, (long)second["seq"]!);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    [DataRow("has space")]
    [DataRow("")]
    [DataRow("k{1}")]
    [DataRow("0123456789012345678901234567890123456789012345678901234567890123456789")]
    public async Task A_bad_key_is_a_400_with_the_catalogues_error(string key)
    {
        await using var server = await StartAsync();
        var sender = new V2Client(server.Client);
        await sender.ConnectAsync("lpool");
        var (status, body) = await PubAsync(server, sender, "1", key);
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        Assert.AreEqual("bad-request", (string?)body["error"]);
        StringAssert.Contains((string?)body["message"], "'idem'");
        Assert.AreEqual(0, server.Engine.GetStatistics().LogMessages, "nothing was appended");
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_repeated_pub_on_a_socket_is_answered_dup_and_a_key_that_is_not_a_string_is_refused()
    {
        await using var server = await StartAsync();
        var client = new V2Client(server.Client);
        await client.ConnectAsync("websocket");
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(server.BaseUrl.Replace("http://", "ws://") + client.RevivalUrl("websocket")), CancellationToken.None);
        var replies = new List<JObject>();
        foreach (var (id, idem) in new[] { (1, "\"s-1\""), (2, "\"s-1\""), (3, "7") })
        {
            var command = $"{{\"cmd\":\"pub\",\"channel\":\"room\",\"data\":\"{id}\",\"idem\":{idem},\"id\":{id}}}";
            await socket.SendAsync(Encoding.UTF8.GetBytes(command), WebSocketMessageType.Text, true, CancellationToken.None);
            replies.Add(await ReplyAsync(socket, id));
        }
        Assert.AreEqual((long)replies[0]["seq"]!, (long)replies[1]["seq"]!);
        Assert.IsNull(replies[0]["dup"]);
        Assert.IsTrue((bool)replies[1]["dup"]!);
        Assert.AreEqual("bad-request", (string?)replies[2]["error"]);
    }

    /// <summary>Reads the socket until the reply frame with this id (its data object).</summary>
    private static async Task<JObject> ReplyAsync(ClientWebSocket socket, int id)
    {
        var buffer = new byte[65536];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var text = new StringBuilder();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, cts.Token);
                text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
            } while (!result.EndOfMessage);
            foreach (var frame in V2Client.Lines(text.ToString()))
            {
                if (frame["data"] is JObject data && (string?)data["type"] == "reply" && (int?)data["id"] == id) return data;
            }
        }
    }
}
