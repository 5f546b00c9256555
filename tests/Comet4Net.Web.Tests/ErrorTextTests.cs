using System.Net;
using System.Net.WebSockets;
using System.Text;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>Error texts come from one catalogue: the same words on every path, in the configured language.</summary>
[TestClass]
public sealed class ErrorTextTests
{
    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task The_Chinese_text_of_a_missing_or_unknown_cmd_names_all_seven_commands()
    {
        await using var server = await CometTestServer.StartAsync(o => o.Language = "zh");
        foreach (var url in new[] { "/conn", "/conn?cmd=nope" })
        {
            using var response = await server.Client.GetAsync(url);
            Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode);
            var message = (string)JObject.Parse(await response.Content.ReadAsStringAsync())["message"]!;
            foreach (var cmd in new[] { "conn", "revival", "drop", "sub", "unsub", "pub", "count" })
                Assert.Contains(cmd, message, $"{url}: {message}");
        }
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_bad_channel_name_gets_the_same_text_over_HTTP_and_on_a_socket()
    {
        await using var server = await CometTestServer.StartAsync(o => o.Language = "zh");
        var client = new V2Client(server.Client);
        using (var conn = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=websocket"))
            client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);

        using var http = await server.Client.GetAsync($"/conn?cmd=sub&cid={client.Id}&cs={client.Secret}&channel=no%20spaces");
        Assert.AreEqual(HttpStatusCode.BadRequest, http.StatusCode);
        var overHttp = JObject.Parse(await http.Content.ReadAsStringAsync());

        using var socket = new ClientWebSocket();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new Uri(server.BaseUrl.Replace("http://", "ws://") + client.RevivalUrl("websocket")), cts.Token);
        await socket.SendAsync(Encoding.UTF8.GetBytes("{\"cmd\":\"sub\",\"channel\":\"no spaces\",\"id\":1}"), WebSocketMessageType.Text, true, cts.Token);
        JObject? reply = null;
        var buffer = new byte[65536];
        while (reply is null)
        {
            var text = new StringBuilder();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, cts.Token);
                text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
            } while (!result.EndOfMessage);
            reply = V2Client.Lines(text.ToString()).Select(f => f["data"] as JObject).FirstOrDefault(d => (string?)d?["type"] == "reply");
        }
        Assert.AreEqual((string?)overHttp["error"], (string?)reply["error"]);
        Assert.AreEqual((string?)overHttp["message"], (string?)reply["message"]);
        Assert.AreEqual("channel 参数格式错误。", (string?)reply["message"]);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
    }
}
