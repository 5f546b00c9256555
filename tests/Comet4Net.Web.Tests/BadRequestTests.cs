using System.Net;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

[TestClass]
public sealed class BadRequestTests
{
    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    [DataRow("/conn", 400, "bad-request", "cmd")]
    [DataRow("/conn?cmd=explode", 400, "bad-request", "explode")]
    [DataRow("/conn?cmd=revival", 400, "bad-request", "cid")]
    [DataRow("/conn?cmd=revival&cid=short", 400, "bad-request", "cid")]
    [DataRow("/conn?cmd=revival&cid=%00%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14%15", 400, "bad-request", "cid")]
    [DataRow("/conn?cmd=drop", 400, "bad-request", "cid")]
    [DataRow("/conn?cmd=conn&cv=2.0.0&ws=iframe", 400, "bad-request", "ws")]
    [DataRow("/conn?cmd=revival&cid=AAAAAAAAAAAAAAAAAAAAAA&cs=x&ack=-1", 404, "unknown-cid", "connect again")]
    public async Task A_bad_request_gets_a_4xx_and_a_json_body_saying_what_was_wrong(string url, int status, string error, string mentions)
    {
        await using var server = await CometTestServer.StartAsync();
        using var response = await server.Client.GetAsync(url);
        Assert.AreEqual(status, (int)response.StatusCode);
        Assert.AreEqual("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JObject.Parse(await response.Content.ReadAsStringAsync());
        Assert.AreEqual(error, (string?)body["error"]);
        Assert.Contains(mentions, (string)body["message"]!);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task An_oversize_query_gets_414_and_an_unsupported_method_405()
    {
        await using var server = await CometTestServer.StartAsync();
        using var big = await server.Client.GetAsync("/conn?cmd=conn&cv=0.1.7&pad=" + new string('x', 5000));
        Assert.AreEqual(HttpStatusCode.RequestUriTooLong, big.StatusCode);
        Assert.AreEqual("query-too-long", (string?)JObject.Parse(await big.Content.ReadAsStringAsync())["error"]);
        using var put = await server.Client.PutAsync("/conn?cmd=conn", new StringContent("x"));
        Assert.AreEqual(HttpStatusCode.MethodNotAllowed, put.StatusCode);
        Assert.AreEqual("method-not-allowed", (string?)JObject.Parse(await put.Content.ReadAsStringAsync())["error"]);
        Assert.AreEqual(0, server.Engine.ConnectionCount);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_refusing_before_connect_listener_sets_the_status_and_reason()
    {
        await using var server = await CometTestServer.StartAsync(null, context =>
            context.Engine.On<Comet4Net.Events.BeforeConnectEvent>(e =>
            {
                if (e.Request.Header("X-Token") != "secret") e.Refuse(401, "a token is required");
                return true;
            }));
        using var refused = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0");
        Assert.AreEqual(HttpStatusCode.Unauthorized, refused.StatusCode);
        var body = JObject.Parse(await refused.Content.ReadAsStringAsync());
        Assert.AreEqual("refused", (string?)body["error"]);
        Assert.AreEqual("a token is required", (string?)body["message"]);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/conn?cmd=conn&cv=2.0.0");
        request.Headers.Add("X-Token", "secret");
        using var accepted = await server.Client.SendAsync(request);
        Assert.AreEqual(HttpStatusCode.OK, accepted.StatusCode);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task The_client_script_is_served_with_caching_headers()
    {
        await using var server = await CometTestServer.StartAsync();
        using var full = await server.Client.GetAsync("/comet4j.js");
        Assert.AreEqual(HttpStatusCode.OK, full.StatusCode);
        Assert.AreEqual("application/javascript", full.Content.Headers.ContentType?.MediaType);
        Assert.IsNotNull(full.Headers.ETag);
        Assert.AreEqual(TimeSpan.FromHours(1), full.Headers.CacheControl?.MaxAge);
        var script = await full.Content.ReadAsStringAsync();
        Assert.Contains("JS.Engine", script);

        using var min = await server.Client.GetAsync("/comet4j.min.js");
        Assert.AreEqual(HttpStatusCode.OK, min.StatusCode);
        Assert.IsLessThan(script.Length, (await min.Content.ReadAsStringAsync()).Length);

        using var again = new HttpRequestMessage(HttpMethod.Get, "/comet4j.js");
        again.Headers.IfNoneMatch.Add(full.Headers.ETag!);
        using var notModified = await server.Client.SendAsync(again);
        Assert.AreEqual(HttpStatusCode.NotModified, notModified.StatusCode);
    }
}
