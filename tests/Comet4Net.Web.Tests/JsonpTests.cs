using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>JSON-P long polling on /conn (docs/protocol.md, "JSON-P"), over real HTTP.</summary>
[TestClass]
public sealed partial class JsonpTests
{
    public TestContext TestContext { get; set; } = null!;

    private static Task<CometTestServer> StartAsync(Action<CometOptions>? configure = null) =>
        CometTestServer.StartAsync(o =>
        {
            o.AllowJsonp = true;
            configure?.Invoke(o);
        }, context => context.RegisterChannel("room", new ChannelOptions { HistoryCount = 10, AllowPublish = true, AllowCount = true }));

    [GeneratedRegex(@"^/\*\*/([A-Za-z_$][A-Za-z0-9_$.]*)\((.*)\);$", RegexOptions.Singleline)]
    private static partial Regex Script();

    /// <summary>
    /// One JSON-P request as a script tag makes it: a GET whose answer must be status 200, JavaScript,
    /// nosniff and not cached, calling exactly <paramref name="callback"/> with one JSON argument.
    /// </summary>
    private static async Task<JToken> CallAsync(HttpClient http, string query, string callback = "cb", Action<HttpRequestMessage>? headers = null, CancellationToken token = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/conn?" + query + "&callback=" + Uri.EscapeDataString(callback));
        headers?.Invoke(request);
        using var response = await http.SendAsync(request, token);
        var body = await response.Content.ReadAsStringAsync(token);
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, body);
        Assert.AreEqual("application/javascript", response.Content.Headers.ContentType?.MediaType);
        Assert.AreEqual("utf-8", response.Content.Headers.ContentType?.CharSet);
        Assert.AreEqual("nosniff", string.Join(",", response.Headers.GetValues("X-Content-Type-Options")));
        Assert.IsTrue(response.Headers.CacheControl?.NoStore, "Cache-Control: no-store");
        var match = Script().Match(body);
        Assert.IsTrue(match.Success, "a single call of the callback: " + body);
        Assert.AreEqual(callback, match.Groups[1].Value);
        return JToken.Parse(match.Groups[2].Value);
    }

    private static async Task<(HttpStatusCode Status, JObject Body, string? ContentType)> RawAsync(HttpClient http, string url, HttpMethod? method = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, url);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JObject.Parse(text), response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>Connects over JSON-P (asking for a stream, which JSON-P cannot do) and returns the conn frame's data.</summary>
    private static async Task<JObject> ConnectAsync(HttpClient http, string extra = "", string callback = "cb")
    {
        var answer = (JArray)await CallAsync(http, "cmd=conn&ws=stream" + extra, callback);
        Assert.HasCount(1, answer);
        Assert.AreEqual("c4j", (string?)answer[0]["channel"]);
        var data = (JObject)answer[0]["data"]!;
        Assert.AreEqual("conn", (string?)data["type"]);
        return data;
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task JSON_P_is_off_by_default_and_a_callback_request_gets_400_saying_so()
    {
        await using var server = await CometTestServer.StartAsync();
        Assert.IsFalse(server.Context.Options.AllowJsonp);
        var (status, body, type) = await RawAsync(server.Client, "/conn?cmd=conn&cv=2.0.0&callback=cb");
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        Assert.AreEqual("application/json", type);
        Assert.AreEqual("bad-request", (string?)body["error"]);
        StringAssert.Contains((string?)body["message"], "Comet:AllowJsonp=true");
        Assert.AreEqual(0, server.Engine.ConnectionCount, "no connection was opened");

        // Without a callback the same server answers as always.
        var client = new V2Client(server.Client);
        await client.ConnectAsync("lpool");
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    [DataRow("alert(1);x")]
    [DataRow("a[0]")]
    [DataRow("")]
    [DataRow("a..b")]
    [DataRow("a.")]
    [DataRow(".a")]
    [DataRow("1a")]
    [DataRow("a b")]
    [DataRow("a-b")]
    [DataRow("</script><script>alert(1)</script>")]
    [DataRow("x\u2028y")]
    [DataRow("cb//")]
    public async Task An_unsafe_callback_is_refused_with_400_and_a_JSON_body(string callback)
    {
        await using var server = await StartAsync();
        var (status, body, type) = await RawAsync(server.Client, "/conn?cmd=conn&callback=" + Uri.EscapeDataString(callback));
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        Assert.AreEqual("application/json", type);
        Assert.AreEqual("bad-request", (string?)body["error"]);
        StringAssert.Contains((string?)body["message"], "'callback' must be a JavaScript name");
        Assert.AreEqual(0, server.Engine.ConnectionCount);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Too_long_a_callback_a_repeated_one_a_wrong_prefix_and_a_POST_are_refused()
    {
        await using var server = await StartAsync(o => o.JsonpCallbackPrefix = "_JSONP_");
        var longest = "_JSONP_" + new string('a', 128 - 7);
        await CallAsync(server.Client, "cmd=conn", longest); // 128 characters: fine

        var (status, body, _) = await RawAsync(server.Client, "/conn?cmd=conn&callback=" + longest + "a");
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        StringAssert.Contains((string?)body["message"], "at most 128 characters");

        (status, body, _) = await RawAsync(server.Client, "/conn?cmd=conn&callback=cb");
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        StringAssert.Contains((string?)body["message"], "must start with '_JSONP_'");

        (status, body, _) = await RawAsync(server.Client, "/conn?cmd=conn&callback=_JSONP_a&callback=_JSONP_b");
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        StringAssert.Contains((string?)body["message"], "once");

        (status, body, _) = await RawAsync(server.Client, "/conn?cmd=conn&callback=_JSONP_a", HttpMethod.Post);
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        StringAssert.Contains((string?)body["message"], "GET only");

        var data = await ConnectAsync(server.Client, callback: "_JSONP_.c4j.r1");
        Assert.IsNotNull(server.Engine.GetConnection((string)data["cId"]!));
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_whole_session_over_JSON_P_conn_ordered_messages_with_acks_sub_pub_count_and_drop()
    {
        await using var server = await StartAsync();
        var http = server.Client;
        server.Engine.SendToAll("room", "old 1");
        server.Engine.SendToAll("room", "old 2");

        // conn: always v2 and long polling (the page asked for a stream and named no client version).
        var conn = await ConnectAsync(http, "&sub=news,hello,room");
        var cid = (string)conn["cId"]!;
        var cs = (string)conn["cs"]!;
        var ack = (long)conn["seq"]!;
        Assert.AreEqual("lpool", (string?)conn["ws"]);
        Assert.AreEqual(2, (int)conn["v"]!);
        var connection = server.Engine.GetConnection(cid)!;
        Assert.AreEqual(CometDialect.V2, connection.Dialect);
        Assert.AreEqual(CometWorkStyle.LongPoll, connection.Style);

        // Messages waiting come in one answer, in order; the ack gets exactly the rest.
        for (var i = 0; i < 30; i++)
        {
            if (i % 3 == 0) server.Engine.SendTo("hello", cid, i);
            else server.Engine.SendToAll("news", i);
        }
        var frames = (JArray)await CallAsync(http, $"cmd=revival&cid={cid}&cs={cs}&ack={ack}&ws=sse");
        CollectionAssert.AreEqual(Enumerable.Range(0, 30).ToArray(), frames.Select(f => (int)f["data"]!).ToArray());
        var seqs = frames.Select(f => (long)f["seq"]!).ToArray();
        CollectionAssert.AreEqual(seqs.Order().ToArray(), seqs, "in sequence order");
        Assert.AreEqual(CometWorkStyle.LongPoll, connection.Style, "ws=sse does not switch a JSON-P connection");

        var again = (JArray)await CallAsync(http, $"cmd=revival&cid={cid}&cs={cs}&ack={seqs[19]}");
        CollectionAssert.AreEqual(Enumerable.Range(20, 10).ToArray(), again.Select(f => (int)f["data"]!).ToArray());
        ack = seqs[^1];

        // A held long poll is answered when a message arrives.
        var held = CallAsync(http, $"cmd=revival&cid={cid}&cs={cs}&ack={ack}", token: TestContext.CancellationToken);
        await Wait.UntilAsync(() => connection.State == ConnectionState.Alive, what: "the revival to attach");
        Assert.IsFalse(held.IsCompleted);
        server.Engine.SendToAll("news", "live");
        var live = (JArray)await held;
        Assert.HasCount(1, live);
        Assert.AreEqual("live", (string?)live[0]["data"]);
        ack = (long)live[0]["seq"]!;

        // sub with history: the NDJSON answer as an array (history frames, then subscribed).
        var sub = (JArray)await CallAsync(http, $"cmd=sub&cid={cid}&cs={cs}&channel=room&history=5");
        CollectionAssert.AreEqual(new[] { "old 1", "old 2" }, sub.Take(2).Select(f => (string)f["data"]!).ToArray());
        Assert.IsTrue((bool)sub[0]["history"]!);
        Assert.AreEqual("subscribed", (string?)sub[2]["data"]!["type"]);

        // pub (GET, data in the query) and count: the JSON answers as they are.
        var pub = (JObject)await CallAsync(http, $"cmd=pub&cid={cid}&cs={cs}&channel=room&data=" + Uri.EscapeDataString("{\"text\":\"hi\"}"));
        Assert.IsTrue((bool)pub["ok"]!);
        var count = (JObject)await CallAsync(http, $"cmd=count&cid={cid}&cs={cs}&channel=room");
        Assert.AreEqual(1, (int)count["connections"]!);
        var mine = (JArray)await CallAsync(http, $"cmd=revival&cid={cid}&cs={cs}&ack={ack}");
        Assert.AreEqual("hi", (string?)mine.Single()["data"]!["text"]);
        Assert.AreEqual(cid, (string?)mine.Single()["from"]);

        // An error is a call too, with the status inside: a script tag cannot read statuses.
        var wrong = (JObject)await CallAsync(http, $"cmd=revival&cid={cid}&cs=AAAAAAAAAAAAAAAAAAAAAA&ack={ack}");
        Assert.AreEqual("forbidden", (string?)wrong["error"]);
        Assert.AreEqual(403, (int)wrong["status"]!);

        // drop, then the connection is unknown: 404 and reconnect, inside the call.
        var drop = (JObject)await CallAsync(http, $"cmd=drop&cid={cid}&cs={cs}");
        Assert.IsTrue((bool)drop["ok"]!);
        Assert.IsNull(server.Engine.GetConnection(cid));
        var gone = (JObject)await CallAsync(http, $"cmd=revival&cid={cid}&cs={cs}&ack={ack}");
        Assert.AreEqual("unknown-cid", (string?)gone["error"]);
        Assert.AreEqual(404, (int)gone["status"]!);
        Assert.AreEqual("reconnect", (string?)gone["data"]!["type"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_held_poll_that_times_out_calls_back_with_dying_and_a_full_server_says_when_to_retry()
    {
        await using var server = await StartAsync(o => { o.Timeout = 300; o.MaxConnections = 1; });
        var conn = await ConnectAsync(server.Client);
        var dying = (JArray)await CallAsync(server.Client, $"cmd=revival&cid={conn["cId"]}&cs={conn["cs"]}&ack={conn["seq"]}");
        Assert.AreEqual("dying", (string?)dying.Single()["data"]!["type"]);

        var full = (JObject)await CallAsync(server.Client, "cmd=conn");
        Assert.AreEqual("too-many-connections", (string?)full["error"]);
        Assert.AreEqual(429, (int)full["status"]!);
        Assert.IsGreaterThan(0, (int)full["retryAfter"]!);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task U2028_and_U2029_in_a_message_are_escaped_so_the_answer_is_valid_JavaScript()
    {
        await using var server = await StartAsync();
        var conn = await ConnectAsync(server.Client);
        var text = "line\u2028separator\u2029paragraph \"quoted\" </script>";
        server.Engine.SendToAll("news", text);
        server.Engine.SendToAll("news", new { nested = "\u2028" });
        server.Engine.SendToAll("news", new JRaw("\"raw\u2028json\u2029\"")); // written as the application gave it

        using var response = await server.Client.GetAsync($"/conn?cmd=revival&cid={conn["cId"]}&cs={conn["cs"]}&ack={conn["seq"]}&callback=cb");
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("\u2028", body, "no raw line separator");
        Assert.DoesNotContain("\u2029", body, "no raw paragraph separator");
        Assert.Contains("\\u2028", body);
        Assert.Contains("\\u2029", body);
        var frames = (JArray)JToken.Parse(Script().Match(body).Groups[2].Value);
        Assert.AreEqual(text, (string?)frames[0]["data"]);
        Assert.AreEqual("\u2028", (string?)frames[1]["data"]!["nested"]);
        Assert.AreEqual("raw\u2028json\u2029", (string?)frames[2]["data"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task With_AllowedOrigins_set_only_the_listed_pages_may_use_JSON_P()
    {
        await using var server = await StartAsync(o => o.AllowedOrigins = "https://app.example");
        void From(HttpRequestMessage r, string referer) => r.Headers.Referrer = new Uri(referer);

        var ok = (JArray)await CallAsync(server.Client, "cmd=conn", headers: r => From(r, "https://app.example/chat/index.html"));
        Assert.AreEqual("conn", (string?)ok[0]["data"]!["type"]);
        var own = (JArray)await CallAsync(server.Client, "cmd=conn", headers: r => From(r, server.BaseUrl + "/page"));
        Assert.AreEqual("conn", (string?)own[0]["data"]!["type"]);
        Assert.AreEqual(2, server.Engine.ConnectionCount);

        var other = (JObject)await CallAsync(server.Client, "cmd=conn", headers: r => From(r, "https://evil.example/app.example"));
        Assert.AreEqual("forbidden", (string?)other["error"]);
        Assert.AreEqual(403, (int)other["status"]!);
        StringAssert.Contains((string?)other["message"], "https://evil.example");
        var byOrigin = (JObject)await CallAsync(server.Client, "cmd=conn", headers: r => r.Headers.Add("Origin", "https://evil.example"));
        Assert.AreEqual(403, (int)byOrigin["status"]!);
        var unnamed = (JObject)await CallAsync(server.Client, "cmd=conn");
        Assert.AreEqual(403, (int)unnamed["status"]!);
        StringAssert.Contains((string?)unnamed["message"], "no Referer or Origin");
        Assert.AreEqual(2, server.Engine.ConnectionCount, "no connection for the refused pages");
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    [DataRow("1abc")]
    [DataRow("a-b")]
    [DataRow("a..")]
    [DataRow("callback(")]
    public async Task A_bad_callback_prefix_stops_startup_naming_the_setting(string prefix)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Comet:AllowJsonp"] = "true", ["Comet:JsonpCallbackPrefix"] = prefix });
        builder.Services.AddComet();
        var e = await Assert.ThrowsAsync<CometConfigurationException>(async () =>
        {
            await using var app = builder.Build();
            app.MapComet("/conn");
            await app.StartAsync();
            await app.StopAsync();
        });
        Assert.AreEqual("JsonpCallbackPrefix", e.Key);
        Assert.Contains("Comet:JsonpCallbackPrefix", e.Message);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task The_settings_bind_from_configuration()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Comet:AllowJsonp"] = "true", ["Comet:JsonpCallbackPrefix"] = "app.jsonp_" });
        builder.Services.AddComet();
        await using var app = builder.Build();
        app.MapComet("/conn");
        await app.StartAsync();
        var options = app.Services.GetRequiredService<CometContext>().Options;
        Assert.IsTrue(options.AllowJsonp);
        Assert.AreEqual("app.jsonp_", options.JsonpCallbackPrefix);
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        var answer = (JArray)await CallAsync(http, "cmd=conn", "app.jsonp_1");
        Assert.AreEqual("conn", (string?)answer[0]["data"]!["type"]);
        await app.StopAsync();
    }
}
