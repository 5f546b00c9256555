using System.Net;
using System.Text;
using Comet4Net.Events;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

[TestClass]
public sealed class AdminTests
{
    private const string Key = "admin-key-0123456789";

    private static Task<CometTestServer> StartAsync() =>
        CometTestServer.StartAsync(null, context =>
        {
            context.RegisterChannel("room", new ChannelOptions { HistoryCount = 10 });
            context.Engine.On<BeforeConnectEvent>(e => { e.Connection!.UserId = e.Request.Query("user"); return true; });
        }, map: app => app.MapCometAdmin("/admin", Key));

    private static HttpRequestMessage Admin(HttpMethod method, string path, object? body = null)
    {
        var request = new HttpRequestMessage(method, "/admin/" + path);
        request.Headers.Add("X-Comet-Admin-Key", Key);
        if (body is not null) request.Content = new StringContent(JObject.FromObject(body).ToString(), Encoding.UTF8, "application/json");
        return request;
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task The_admin_api_needs_its_key_and_reports_info()
    {
        await using var server = await StartAsync();
        foreach (var path in new[] { "info", "presence", "channels/room" })
        {
            using var anonymous = await server.Client.GetAsync("/admin/" + path);
            Assert.AreEqual(HttpStatusCode.Unauthorized, anonymous.StatusCode, path);
        }
        using var wrongKey = new HttpRequestMessage(HttpMethod.Post, "/admin/kick") { Content = new StringContent("{\"user\":\"x\"}") };
        wrongKey.Headers.Add("X-Comet-Admin-Key", Key + "x");
        using var refused = await server.Client.SendAsync(wrongKey);
        Assert.AreEqual(HttpStatusCode.Unauthorized, refused.StatusCode);
        var client = new V2Client(server.Client);
        await client.ConnectAsync("lpool");
        server.Engine.SendToAll("room", 1);
        using var info = await server.Client.SendAsync(Admin(HttpMethod.Get, "info"));
        Assert.AreEqual(HttpStatusCode.OK, info.StatusCode);
        var body = JObject.Parse(await info.Content.ReadAsStringAsync());
        Assert.AreEqual(1, (int)body["connections"]!);
        Assert.AreEqual(1, (int)body["byWorkStyle"]!["lpool"]!);
        Assert.AreEqual(1, (int)body["channels"]!.Single(c => (string?)c["name"] == "room")["history"]!);
        Assert.AreEqual(1, (int)body["counters"]!["messages"]!);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Push_kick_and_clear_work_and_bad_bodies_get_400()
    {
        await using var server = await StartAsync();
        using var conn = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&user=ann");
        var ann = new V2Client(server.Client);
        ann.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);

        using var push = await server.Client.SendAsync(Admin(HttpMethod.Post, "push", new { channel = "room", user = "ann", data = new { text = "from admin" } }));
        var pushed = await push.Content.ReadAsStringAsync();
        Assert.AreEqual(HttpStatusCode.OK, push.StatusCode, pushed);
        Assert.AreEqual(1, (int)JObject.Parse(pushed)["reached"]!, pushed);
        var (_, frames) = await ann.PollAsync();
        Assert.AreEqual("from admin", (string?)frames.Single()["data"]!["text"]);

        using var bad = await server.Client.SendAsync(Admin(HttpMethod.Post, "push", new { channel = "no good" }));
        Assert.AreEqual(HttpStatusCode.BadRequest, bad.StatusCode);
        using var notJson = new HttpRequestMessage(HttpMethod.Post, "/admin/kick") { Content = new StringContent("{{{") };
        notJson.Headers.Add("X-Comet-Admin-Key", Key);
        using var badKick = await server.Client.SendAsync(notJson);
        Assert.AreEqual(HttpStatusCode.BadRequest, badKick.StatusCode);

        server.Engine.SendToAll("room", 2);
        using var clear = await server.Client.SendAsync(Admin(HttpMethod.Post, "clear/room"));
        Assert.AreEqual(1, (int)JObject.Parse(await clear.Content.ReadAsStringAsync())["cleared"]!);

        using var kick = await server.Client.SendAsync(Admin(HttpMethod.Post, "kick", new { user = "ann", reason = "closing time" }));
        Assert.AreEqual(1, (int)JObject.Parse(await kick.Content.ReadAsStringAsync())["kicked"]!);
        var (status, body) = await ann.PollAsync();
        Assert.AreEqual(HttpStatusCode.Gone, status);
        Assert.AreEqual("closing time", (string?)body[0]["message"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task The_presence_stream_reports_users_coming_and_going()
    {
        await using var server = await StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var response = await server.Client.SendAsync(Admin(HttpMethod.Get, "presence"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.AreEqual("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = new List<Sse.Event>();
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reading = Task.Run(async () =>
        {
            // The stream says ": presence" once its listeners are on: events from then on reach it.
            await foreach (var e in Sse.ReadAsync(response, cts.Token, comment => { if (comment == "presence") listening.TrySetResult(); }))
            {
                lock (events) events.Add(e);
                if (e.Name == "offline") return;
            }
        }, cts.Token);
        await listening.Task.WaitAsync(cts.Token);
        using var conn = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&user=bob", cts.Token);
        var bob = new V2Client(server.Client);
        bob.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync(cts.Token))[0]);
        using var drop = await server.Client.GetAsync($"/conn?cmd=drop&cid={bob.Id}&cs={bob.Secret}", cts.Token);
        await reading;
        CollectionAssert.IsSubsetOf(new[] { "online", "connect", "drop", "offline" }, events.Select(e => e.Name).ToArray());
        Assert.Contains("\"bob\"", events.First(e => e.Name == "online").Data);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task One_connection_is_described_without_its_secret_and_an_unknown_one_is_404()
    {
        await using var server = await StartAsync();
        var client = new V2Client(server.Client);
        using (var conn = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=stream&user=ann&sub=room"))
            client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
        using var response = await server.Client.SendAsync(Admin(HttpMethod.Get, "connections/" + client.Id));
        var text = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, text);
        var info = JObject.Parse(text);
        Assert.AreEqual(client.Id, (string?)info["cid"]);
        Assert.AreEqual("ann", (string?)info["user"]);
        Assert.AreEqual("stream", (string?)info["workStyle"]);
        CollectionAssert.AreEqual(new[] { "room" }, info["channels"]!.Select(t => (string)t!).ToArray());
        Assert.IsTrue((bool)info["thisNode"]!);
        Assert.IsFalse(text.Contains(client.Secret, StringComparison.Ordinal), "the secret is never shown");

        using var unknown = await server.Client.SendAsync(Admin(HttpMethod.Get, "connections/AAAAAAAAAAAAAAAAAAAAAA"));
        Assert.AreEqual(HttpStatusCode.NotFound, unknown.StatusCode);
        using var anonymous = await server.Client.GetAsync("/admin/connections/" + client.Id);
        Assert.AreEqual(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_missing_or_short_key_refuses_to_start_instead_of_opening_the_api()
    {
        // As the README maps it, with the setting unset: builder.Configuration["CometAdminKey"] is null.
        var unset = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => CometTestServer.StartAsync(map: app => app.MapCometAdmin("/admin", (string?)null)));
        Assert.Contains("CometAdminKey", unset.Message);
        await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => CometTestServer.StartAsync(map: app => app.MapCometAdmin("/admin", "")));
        var shortKey = await Assert.ThrowsExactlyAsync<ArgumentException>(() => CometTestServer.StartAsync(map: app => app.MapCometAdmin("/admin", "fifteen-chars15")));
        Assert.Contains("16", shortKey.Message);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_policy_protects_the_api_without_a_key_and_anonymous_access_is_only_by_name()
    {
        await using (var server = await CometTestServer.StartAsync(
            services: s =>
            {
                s.AddAuthentication("header").AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>("header", null);
                s.AddAuthorizationBuilder().AddPolicy("admins", p => p.RequireRole("admin"));
            },
            middleware: app => { app.UseAuthentication(); app.UseAuthorization(); },
            map: app => app.MapCometAdmin("/admin", CometAdminAccess.WithPolicy("admins"))))
        {
            using var anonymous = await server.Client.GetAsync("/admin/info");
            Assert.AreEqual(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            using var push = new HttpRequestMessage(HttpMethod.Post, "/admin/push") { Content = new StringContent("{\"channel\":\"hello\",\"data\":1}") };
            using var refused = await server.Client.SendAsync(push);
            Assert.AreEqual(HttpStatusCode.Unauthorized, refused.StatusCode);
            using var asAdmin = new HttpRequestMessage(HttpMethod.Get, "/admin/info");
            asAdmin.Headers.Add("X-Test-Role", "admin");
            using var info = await server.Client.SendAsync(asAdmin);
            Assert.AreEqual(HttpStatusCode.OK, info.StatusCode);
        }
        await using (var server = await CometTestServer.StartAsync(map: app => app.MapCometAdmin("/admin", CometAdminAccess.AllowAnonymous)))
        {
            using var info = await server.Client.GetAsync("/admin/info");
            Assert.AreEqual(HttpStatusCode.OK, info.StatusCode);
        }
    }

    /// <summary>Signs in whoever sends <c>X-Test-Role</c>, in that role.</summary>
    private sealed class HeaderAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (Request.Headers["X-Test-Role"].ToString() is not { Length: > 0 } role) return Task.FromResult(AuthenticateResult.NoResult());
            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "tester"), new Claim(ClaimTypes.Role, role)], "header");
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), "header")));
        }
    }
}
