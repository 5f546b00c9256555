using System.Net;
using Comet4Net.Events;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// A subscribe listener's refusal holds on every path by which a connection can come to receive a
/// channel; a channel that requires a subscription is never received without one. Each test sends on
/// the refused channel first and on an allowed one after: the allowed message arriving alone proves
/// the refused one was not delivered (it would have come first).
/// </summary>
[TestClass]
public sealed class ChannelAuthorizationTests
{
    private static Task<CometTestServer> StartAsync(Action<CometOptions>? configure = null) =>
        CometTestServer.StartAsync(o => { o.ConnExpires = 300; o.ConnFrequency = 100; o.Timeout = 3000; configure?.Invoke(o); }, c =>
        {
            c.RegisterChannel("secret");
            c.RegisterChannel("private", new ChannelOptions { RequireSubscription = true });
            // Only admins may hear "secret".
            c.Engine.On<SubscribeEvent>(e => e.Channel != "secret" || e.Connection!.Request.Query("role") == "admin");
        });

    private static void SendBoth(CometTestServer server)
    {
        server.Engine.SendToAll("secret", "leak");
        server.Engine.SendToAll("private", "leak");
        server.Engine.SendToAll("hello", "ok");
    }

    private static string[] Data(IEnumerable<JObject> frames) =>
        frames.Where(f => (string?)f["channel"] != "c4j").Select(f => (string)f["channel"]! + ":" + (string)f["data"]!).ToArray();

    private static async Task<V2Client> ConnectAsync(CometTestServer server, string query)
    {
        var client = new V2Client(server.Client);
        using var conn = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool" + query);
        Assert.AreEqual(HttpStatusCode.OK, conn.StatusCode);
        client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
        return client;
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task Naming_a_refused_channel_at_connect_does_not_receive_it_and_says_so()
    {
        await using var server = await StartAsync();
        var client = await ConnectAsync(server, "&sub=secret,hello");
        CollectionAssert.AreEqual(new[] { "secret" }, ((JArray)client.ConnectData["refused"]!).Select(t => (string)t!).ToArray());
        SendBoth(server);
        var (_, frames) = await client.PollAsync();
        CollectionAssert.AreEqual(new[] { "hello:ok" }, Data(frames));
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task Naming_no_channel_receives_only_allowed_channels()
    {
        await using var server = await StartAsync();
        var client = await ConnectAsync(server, "");
        SendBoth(server);
        var (_, frames) = await client.PollAsync();
        CollectionAssert.AreEqual(new[] { "hello:ok" }, Data(frames));
        var admin = await ConnectAsync(server, "&role=admin");
        SendBoth(server);
        (_, frames) = await admin.PollAsync();
        CollectionAssert.AreEqual(new[] { "secret:leak", "hello:ok" }, Data(frames), "an allowed client still gets it; the private channel needs an explicit subscription");
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task Cmd_sub_is_refused_with_403_and_an_explicit_subscription_opens_a_private_channel()
    {
        await using var server = await StartAsync();
        var client = await ConnectAsync(server, "&sub=hello");
        using (var refused = await server.Client.GetAsync($"/conn?cmd=sub&cid={client.Id}&cs={client.Secret}&channel=secret"))
            Assert.AreEqual(HttpStatusCode.Forbidden, refused.StatusCode);
        using (var accepted = await server.Client.GetAsync($"/conn?cmd=sub&cid={client.Id}&cs={client.Secret}&channel=private"))
            Assert.AreEqual(HttpStatusCode.OK, accepted.StatusCode);
        SendBoth(server);
        var (_, frames) = await client.PollAsync();
        CollectionAssert.AreEqual(new[] { "private:leak", "hello:ok" }, Data(frames));
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task Sse_in_one_URL_receives_only_allowed_channels()
    {
        await using var server = await StartAsync();
        foreach (var (query, expected) in new[] { ("", new[] { "hello:ok" }), ("&sub=secret,private,hello", new[] { "private:leak", "hello:ok" }) })
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            using var response = await server.Client.GetAsync("/conn?cmd=conn&ws=sse" + query, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            SendBoth(server);
            var names = new List<string>();
            await foreach (var e in Sse.ReadAsync(response, cts.Token))
            {
                if (e.Name == "c4j") continue;
                names.Add(e.Name + ":" + JToken.Parse(e.Data));
                if (e.Name == "hello") break;
            }
            CollectionAssert.AreEqual(expected, names, "query: " + query);
        }
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task Legacy_clients_receive_only_allowed_channels()
    {
        await using var server = await StartAsync(o => o.WorkStyle = "lpool");
        var legacy = new LegacyClient(server.Client);
        await legacy.ConnectAsync();
        SendBoth(server);
        var frame = await legacy.PollAsync();
        Assert.AreEqual("hello", (string?)frame!["channel"], "the first frame a legacy page gets is the allowed one");
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task A_resumed_session_is_asked_again()
    {
        var allowNews = true;
        await using var server = await CometTestServer.StartAsync(o => { o.ConnExpires = 300; o.ConnFrequency = 100; o.Timeout = 3000; },
            c => c.Engine.On<SubscribeEvent>(e => e.Channel != "news" || Volatile.Read(ref allowNews)));
        var client = await ConnectAsync(server, "&sub=news,hello");
        await Wait.UntilAsync(() => server.Engine.GetConnection(client.Id) is null, 10, "the connection to expire");
        Volatile.Write(ref allowNews, false); // say, the user's rights were taken away meanwhile
        server.Engine.SendToAll("news", "leak");
        server.Engine.SendToAll("hello", "ok");
        var (_, frames) = await client.PollAsync();
        CollectionAssert.AreEqual(new[] { "hello:ok" }, Data(frames));
    }
}
