using System.Net;
using Comet4Net.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>The chat sample's talk.do, in this process on a port of its own.</summary>
[TestClass]
public sealed class ChatSampleTests
{
    private static async Task<WebApplication> StartChatAsync()
    {
        var root = Path.Combine(TestPaths.RepositoryRoot(), "samples", "Chat");
        var app = Comet4Net.Samples.Chat.ChatServer.Create([], new WebApplicationOptions
        {
            ContentRootPath = root,
            WebRootPath = Path.Combine(root, "wwwroot"),
            EnvironmentName = "Production",
        }, builder =>
        {
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        });
        await app.StartAsync();
        return app;
    }

    private static async Task<V2Client> JoinAsync(HttpClient http, string name)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/conn?cmd=conn&cv=2.0.0&ws=lpool");
        request.Headers.Add("Cookie", "userName=" + name);
        using var response = await http.SendAsync(request);
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        var client = new V2Client(http);
        client.Accept(V2Client.Lines(await response.Content.ReadAsStringAsync())[0]);
        return client;
    }

    private static async Task<(HttpStatusCode Status, string Body)> TalkAsync(HttpClient http, string cmd, params (string Key, string Value)[] fields)
    {
        using var form = new FormUrlEncodedContent(fields.Select(f => KeyValuePair.Create(f.Key, f.Value)));
        using var response = await http.PostAsync("/talk.do?cmd=" + cmd, form);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_multipart_post_without_a_boundary_gets_400_saying_why()
    {
        await using var app = await StartChatAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        using var body = new StringContent("cmd=list");
        body.Headers.Remove("Content-Type");
        body.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data");
        using var response = await http.PostAsync("/talk.do", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode, text);
        var error = JObject.Parse(text);
        Assert.AreEqual("bad-form", (string?)error["error"]);
        Assert.Contains("boundary", (string?)error["message"] ?? "", StringComparison.OrdinalIgnoreCase);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_page_cannot_talk_or_rename_as_another_connection_without_its_secret()
    {
        await using var app = await StartChatAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        var ann = await JoinAsync(http, "Ann");
        var bob = await JoinAsync(http, "Bob");

        foreach (var cs in new[] { null, "", bob.Secret })
        {
            var fields = new List<(string, string)> { ("id", ann.Id), ("text", "I am Ann, honest") };
            if (cs is not null) fields.Add(("cs", cs));
            var (status, body) = await TalkAsync(http, "talk", [.. fields]);
            Assert.AreEqual(HttpStatusCode.Forbidden, status, $"cs={cs}: {body}");
            Assert.AreEqual("not-owner", (string?)JObject.Parse(body)["error"]);
        }
        var (renamed, renameBody) = await TalkAsync(http, "rename", ("id", ann.Id), ("cs", bob.Secret), ("newName", "Mallory"));
        Assert.AreEqual(HttpStatusCode.Forbidden, renamed, renameBody);
        var (sent, sentBody) = await TalkAsync(http, "msg", ("id", ann.Id), ("to", "Bob"), ("text", "psst"));
        Assert.AreEqual(HttpStatusCode.Forbidden, sent, sentBody);

        Assert.AreEqual(HttpStatusCode.OK, (await TalkAsync(http, "talk", ("id", ann.Id), ("cs", ann.Secret), ("text", "hello"))).Status);
        Assert.AreEqual(HttpStatusCode.OK, (await TalkAsync(http, "rename", ("id", ann.Id), ("cs", ann.Secret), ("newName", "Annie"))).Status);
        var (unknown, _) = await TalkAsync(http, "talk", ("id", "AAAAAAAAAAAAAAAAAAAAAA"), ("cs", ann.Secret), ("text", "hello"));
        Assert.AreEqual(HttpStatusCode.BadRequest, unknown);

        // Bob hears Ann's own words and her rename, nothing said in her name by someone else.
        var heard = new List<JObject>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!heard.Any(f => (string?)f["data"]?["type"] == "rename") && DateTime.UtcNow < deadline)
        {
            var (_, frames) = await bob.PollAsync();
            heard.AddRange(frames.Where(f => (string?)f["channel"] == "talker" && f["event"] is null));
        }
        CollectionAssert.AreEqual(new[] { "hello" }, heard.Where(f => (string?)f["data"]?["type"] == "talk").Select(f => (string?)f["data"]!["text"]).ToArray());
        Assert.AreEqual("Annie", (string?)heard.Single(f => (string?)f["data"]?["type"] == "rename")["data"]!["newName"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_legacy_page_which_has_no_secret_still_talks_by_its_id()
    {
        await using var app = await StartChatAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        var legacy = new LegacyClient(http);
        await legacy.ConnectAsync();
        var (status, body) = await TalkAsync(http, "talk", ("id", legacy.Id), ("text", "from Comet4J"));
        Assert.AreEqual(HttpStatusCode.OK, status, body);
    }
}
