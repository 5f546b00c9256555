using System.Net;
using System.Net.WebSockets;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Comet4Net.Events;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// A channel guarded by an ASP.NET Core authorization policy is refused, on every path by which a
/// connection can come to receive it, to a user the policy does not authorize: the paths of
/// <see cref="ChannelAuthorizationTests"/> (subscribe listeners), with the user as ASP.NET Core
/// authentication established it (here: the X-User and X-Role headers). As there, each test sends on the
/// refused channel first and on an allowed one after: the allowed message arriving alone proves the
/// refused one was not delivered.
/// </summary>
[TestClass]
public sealed class ChannelPolicyTests
{
    internal static void AddHeaderUsers(IServiceCollection services, Action<AuthorizationBuilder>? policies = null)
    {
        services.AddAuthentication("header").AddScheme<AuthenticationSchemeOptions, HeaderUser>("header", null);
        var builder = services.AddAuthorizationBuilder().AddPolicy("admins", p => p.RequireRole("admin"));
        policies?.Invoke(builder);
    }

    private static Task<CometTestServer> StartAsync(Action<CometOptions>? configure = null, Action<CometContext>? setup = null,
        Action<AuthorizationBuilder>? policies = null) =>
        CometTestServer.StartAsync(o => { o.ConnExpires = 300; o.ConnFrequency = 100; o.Timeout = 3000; configure?.Invoke(o); }, c =>
        {
            c.RegisterChannel("secret", new ChannelOptions { Policy = "admins", AllowPublish = true, AllowCount = true });
            c.RegisterChannel("private", new ChannelOptions { RequireSubscription = true });
            setup?.Invoke(c);
        }, services: s => AddHeaderUsers(s, policies), middleware: app => app.UseAuthentication());

    /// <summary>A client whose requests carry a user (none: anonymous) and a role.</summary>
    internal static HttpClient As(CometTestServer server, string? user, string? role = null)
    {
        var http = server.NewClient();
        if (user is not null) http.DefaultRequestHeaders.Add("X-User", user);
        if (role is not null) http.DefaultRequestHeaders.Add("X-Role", role);
        return http;
    }

    private static void SendBoth(CometTestServer server)
    {
        server.Engine.SendToAll("secret", "leak");
        server.Engine.SendToAll("private", "leak");
        server.Engine.SendToAll("hello", "ok");
    }

    private static string[] Data(IEnumerable<JObject> frames) =>
        frames.Where(f => (string?)f["channel"] != "c4j").Select(f => (string)f["channel"]! + ":" + (string)f["data"]!).ToArray();

    private static async Task<V2Client> ConnectAsync(HttpClient http, string query)
    {
        var client = new V2Client(http);
        using var conn = await http.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool" + query);
        Assert.AreEqual(HttpStatusCode.OK, conn.StatusCode);
        client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
        return client;
    }

    private static string[] Refused(V2Client client) =>
        client.ConnectData["refused"] is JArray refused ? refused.Select(t => (string)t!).ToArray() : [];

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task Naming_a_channel_at_connect_that_the_policy_refuses_lists_it_as_refused_and_does_not_receive_it()
    {
        await using var server = await StartAsync();
        using var bobHttp = As(server, "bob");
        using var adminHttp = As(server, "ann", "admin");
        var bob = await ConnectAsync(bobHttp, "&sub=secret,hello");
        var admin = await ConnectAsync(adminHttp, "&sub=secret,hello");
        CollectionAssert.AreEqual(new[] { "secret" }, Refused(bob));
        CollectionAssert.AreEqual(Array.Empty<string>(), Refused(admin));
        SendBoth(server);
        CollectionAssert.AreEqual(new[] { "hello:ok" }, Data((await bob.PollAsync()).Frames));
        CollectionAssert.AreEqual(new[] { "secret:leak", "hello:ok" }, Data((await admin.PollAsync()).Frames));
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task Naming_no_channel_receives_only_the_channels_the_policy_allows()
    {
        await using var server = await StartAsync();
        using var bobHttp = As(server, "bob");
        using var adminHttp = As(server, "ann", "admin");
        var bob = await ConnectAsync(bobHttp, "");
        var admin = await ConnectAsync(adminHttp, "");
        SendBoth(server);
        CollectionAssert.AreEqual(new[] { "hello:ok" }, Data((await bob.PollAsync()).Frames));
        CollectionAssert.AreEqual(new[] { "secret:leak", "hello:ok" }, Data((await admin.PollAsync()).Frames), "the private channel still needs an explicit subscription");
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    [DataRow("en", "is not authorized for 'secret'")]
    [DataRow("zh", "无权使用通道 'secret'")]
    public async Task Sub_pub_and_count_are_refused_with_403_refused_in_the_configured_language(string language, string text)
    {
        await using var server = await StartAsync(o => o.Language = language);
        using var bobHttp = As(server, "bob");
        using var adminHttp = As(server, "ann", "admin");
        var bob = await ConnectAsync(bobHttp, "&sub=hello");
        var admin = await ConnectAsync(adminHttp, "&sub=hello");
        foreach (var command in new[] { "sub", "pub&data=1", "count" })
        {
            using var refused = await bobHttp.GetAsync($"/conn?cmd={command}&cid={bob.Id}&cs={bob.Secret}&channel=secret");
            Assert.AreEqual(HttpStatusCode.Forbidden, refused.StatusCode, command);
            var body = JObject.Parse(await refused.Content.ReadAsStringAsync());
            Assert.AreEqual("refused", (string?)body["error"], command);
            StringAssert.Contains((string)body["message"]!, text, command);
            using var allowed = await adminHttp.GetAsync($"/conn?cmd={command}&cid={admin.Id}&cs={admin.Secret}&channel=secret");
            Assert.AreEqual(HttpStatusCode.OK, allowed.StatusCode, command);
        }
        SendBoth(server);
        CollectionAssert.AreEqual(new[] { "hello:ok" }, Data((await bob.PollAsync()).Frames));
        CollectionAssert.AreEqual(new[] { "secret:1", "secret:leak", "hello:ok" }, Data((await admin.PollAsync()).Frames), "its own publish, then the server's");
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task Sse_in_one_URL_receives_only_the_channels_the_policy_allows()
    {
        await using var server = await StartAsync();
        using var bobHttp = As(server, "bob");
        using var adminHttp = As(server, "ann", "admin");
        foreach (var (http, query, expected) in new[]
        {
            (bobHttp, "", new[] { "hello:ok" }),
            (bobHttp, "&sub=secret,private,hello", new[] { "private:leak", "hello:ok" }),
            (adminHttp, "", new[] { "secret:leak", "hello:ok" }),
        })
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            using var response = await http.GetAsync("/conn?cmd=conn&ws=sse" + query, HttpCompletionOption.ResponseHeadersRead, cts.Token);
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
    public async Task Legacy_clients_receive_only_the_channels_the_policy_allows()
    {
        await using var server = await StartAsync(o => o.WorkStyle = "lpool");
        using var bobHttp = As(server, "bob");
        using var adminHttp = As(server, "ann", "admin");
        var bob = new LegacyClient(bobHttp);
        var admin = new LegacyClient(adminHttp);
        await bob.ConnectAsync();
        await admin.ConnectAsync();
        SendBoth(server);
        Assert.AreEqual("hello", (string?)(await bob.PollAsync())!["channel"], "the first frame a legacy page gets is the allowed one");
        Assert.AreEqual("secret", (string?)(await admin.PollAsync())!["channel"]);
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task Socket_commands_are_refused_as_their_HTTP_forms()
    {
        await using var server = await StartAsync();
        using var bobHttp = As(server, "bob");
        using var adminHttp = As(server, "ann", "admin");
        foreach (var (http, expected) in new[] { (bobHttp, "refused"), (adminHttp, null) })
        {
            var client = await ConnectAsync(http, "&ws=websocket&sub=hello");
            using var socket = new ClientWebSocket(); // the socket itself carries no user: the connection keeps its conn request's
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(new Uri(server.BaseUrl.Replace("http://", "ws://") + client.RevivalUrl("websocket")), cts.Token);
            var id = 0;
            foreach (var command in new[] { "\"cmd\":\"sub\"", "\"cmd\":\"pub\",\"data\":\"1\"", "\"cmd\":\"count\"" })
            {
                await socket.SendAsync(Encoding.UTF8.GetBytes($"{{{command},\"channel\":\"secret\",\"id\":{++id}}}"), WebSocketMessageType.Text, true, cts.Token);
                var reply = await ReplyAsync(socket, id, cts.Token);
                Assert.AreEqual(expected, (string?)reply["error"], command);
            }
        }
    }

    private static async Task<JObject> ReplyAsync(ClientWebSocket socket, int id, CancellationToken token)
    {
        var buffer = new byte[65536];
        while (true)
        {
            var text = new StringBuilder();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, token);
                text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
            } while (!result.EndOfMessage);
            Assert.AreNotEqual(WebSocketMessageType.Close, result.MessageType, "the socket stays open");
            foreach (var frame in V2Client.Lines(text.ToString()))
                if (frame["data"] is JObject data && (string?)data["type"] == "reply" && (int?)data["id"] == id) return data;
        }
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task A_JSON_P_sub_is_refused_as_its_plain_form()
    {
        await using var server = await StartAsync(o => o.AllowJsonp = true);
        using var bobHttp = As(server, "bob");
        var bob = await ConnectAsync(bobHttp, "&sub=hello");
        using var response = await bobHttp.GetAsync($"/conn?cmd=sub&cid={bob.Id}&cs={bob.Secret}&channel=secret&callback=cb");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, "JSON-P answers 200 with the status inside");
        var body = await response.Content.ReadAsStringAsync();
        StringAssert.StartsWith(body.TrimStart('/', '*', ' '), "cb(");
        var answer = JObject.Parse(body[(body.IndexOf('(') + 1)..body.LastIndexOf(')')]);
        Assert.AreEqual(403, (int)answer["status"]!);
        Assert.AreEqual("refused", (string?)answer["error"]);
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task A_resumed_session_is_checked_against_the_user_of_the_request_that_brings_it_back()
    {
        await using var server = await StartAsync();
        using var adminHttp = As(server, "ann", "admin");
        using var demotedHttp = As(server, "ann"); // say, the role was taken away meanwhile
        var demoted = await ConnectAsync(adminHttp, "&sub=secret,hello");
        var admin = await ConnectAsync(adminHttp, "&sub=secret,hello");
        await Wait.UntilAsync(() => server.Engine.GetConnection(demoted.Id) is null && server.Engine.GetConnection(admin.Id) is null, 10, "the connections to expire");
        SendBoth(server);
        CollectionAssert.AreEqual(new[] { "hello:ok" }, Data((await demoted.Through(demotedHttp).PollAsync()).Frames));
        CollectionAssert.AreEqual(new[] { "secret:leak", "hello:ok" }, Data((await admin.PollAsync()).Frames));
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task The_default_policy_guards_every_channel_but_those_that_name_their_own_or_none()
    {
        await using var server = await StartAsync(o => o.ChannelPolicy = "members", c =>
        {
            c.RegisterChannel("lobby", new ChannelOptions { Policy = "" });
            c.RegisterChannel("room.bob", new ChannelOptions { Policy = "own-room" });
            c.RegisterChannel("room.cy", new ChannelOptions { Policy = "own-room" });
        }, p => p.AddPolicy("members", b => b.RequireAuthenticatedUser()).AddPolicy("own-room", b => b.AddRequirements(new OwnRoom())));
        using var anonymousHttp = As(server, null);
        using var bobHttp = As(server, "bob");
        var anonymous = await ConnectAsync(anonymousHttp, "&sub=hello,lobby,unregistered,room.bob");
        var bob = await ConnectAsync(bobHttp, "&sub=hello,lobby,unregistered,room.bob,room.cy");
        CollectionAssert.AreEqual(new[] { "hello", "unregistered", "room.bob" }, Refused(anonymous));
        CollectionAssert.AreEqual(new[] { "room.cy" }, Refused(bob), "the policy's resource is the channel's name");
        foreach (var channel in new[] { "room.cy", "hello", "lobby" }) server.Engine.SendToAll(channel, "m");
        CollectionAssert.AreEqual(new[] { "lobby:m" }, Data((await anonymous.PollAsync()).Frames));
        CollectionAssert.AreEqual(new[] { "hello:m", "lobby:m" }, Data((await bob.PollAsync()).Frames));
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task A_policy_that_waits_is_awaited_on_sub_and_refused_to_a_connection_that_names_no_channel()
    {
        await using var server = await StartAsync(setup: c => c.RegisterChannel("slow", new ChannelOptions { Policy = "slow" }),
            policies: p => p.AddPolicy("slow", b => b.AddRequirements(new Slow())));
        using var bobHttp = As(server, "bob");
        var named = await ConnectAsync(bobHttp, "&sub=slow,hello");
        var implicitly = await ConnectAsync(bobHttp, "");
        Assert.AreEqual(0, Refused(named).Length, "awaited at connect");
        server.Engine.SendToAll("slow", "s");
        server.Engine.SendToAll("hello", "ok");
        CollectionAssert.AreEqual(new[] { "slow:s", "hello:ok" }, Data((await named.PollAsync()).Frames));
        CollectionAssert.AreEqual(new[] { "hello:ok" }, Data((await implicitly.PollAsync()).Frames), "the delivery path does not wait");
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task The_user_id_is_the_name_identifier_unless_a_token_or_a_listener_says_otherwise()
    {
        const string key = "a-token-key-of-at-least-32-characters!";
        await using var server = await StartAsync(o => o.TokenKey = key,
            c => c.Engine.On<BeforeConnectEvent>(e => { if (e.Request.Query("as") is { } name) e.Connection!.UserId = name; }));
        using var bobHttp = As(server, "bob");
        using var anonymousHttp = As(server, null);
        async Task<string?> UserOf(HttpClient http, string query) => server.Engine.GetConnection((await ConnectAsync(http, query)).Id)!.UserId;
        Assert.AreEqual("id-bob", await UserOf(bobHttp, ""));
        Assert.IsNull(await UserOf(anonymousHttp, ""));
        Assert.AreEqual("listener", await UserOf(bobHttp, "&as=listener"));
        Assert.AreEqual("token-user", await UserOf(bobHttp, "&token=" + Uri.EscapeDataString(new CometTokens(key).Issue("token-user"))));
        Assert.AreEqual(1, server.Engine.Users.Count(u => u == "id-bob"), "SendToUser and presence follow it");
    }

    [TestMethod]
    [Timeout(20000, CooperativeCancellation = true)]
    public async Task A_policy_without_authorization_or_an_unknown_policy_stops_the_start_naming_the_setting()
    {
        var noAuthorization = await Assert.ThrowsAsync<CometConfigurationException>(() => CometTestServer.StartAsync(o => o.ChannelPolicy = "members"));
        Assert.AreEqual("ChannelPolicy", noAuthorization.Key);
        StringAssert.Contains(noAuthorization.Message, "AddAuthorization");
        var unknown = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartAsync(setup: c => c.RegisterChannel("typo", new ChannelOptions { Policy = "admin" })));
        StringAssert.Contains(unknown.Message, "ChannelOptions.Policy of channel 'typo' is 'admin', which is not a registered authorization policy");
    }

    [TestMethod]
    public void A_connection_keeps_its_users_claims_and_not_the_handlers_extras()
    {
        Assert.IsNull(Internal.ConnectionUser.Keep(new ClaimsPrincipal(new ClaimsIdentity())), "an anonymous request keeps nothing");
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "bob"), new Claim(ClaimTypes.Role, "admin")], "Bearer")
        {
            BootstrapContext = new string('t', 2000), // say, the raw token a handler left on its identity
        };
        var kept = Internal.ConnectionUser.Keep(new ClaimsPrincipal(identity))!;
        Assert.AreEqual("bob", kept.Identity!.Name);
        Assert.IsTrue(kept.Identity.IsAuthenticated);
        Assert.IsTrue(kept.IsInRole("admin"));
        Assert.IsNull(((ClaimsIdentity)kept.Identity).BootstrapContext);
        Assert.AreNotSame(identity, kept.Claims.First().Subject, "the claims refer to the copy, not the request's identity");
    }

    /// <summary>Authorizes a channel named <c>room.&lt;the user's name&gt;</c>: the resource is the channel's name.</summary>
    private sealed class OwnRoom : AuthorizationHandler<OwnRoom, string>, IAuthorizationRequirement
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, OwnRoom requirement, string channel)
        {
            if (channel == "room." + context.User.Identity?.Name) context.Succeed(requirement);
            return Task.CompletedTask;
        }
    }

    /// <summary>Authorizes everyone, after a wait (a handler that reads a database).</summary>
    private sealed class Slow : AuthorizationHandler<Slow>, IAuthorizationRequirement
    {
        protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, Slow requirement)
        {
            await Task.Delay(20);
            context.Succeed(requirement);
        }
    }
}

/// <summary>Authenticates a request by its X-User header (name, and name identifier <c>id-&lt;name&gt;</c>) and X-Role.</summary>
internal sealed class HeaderUser(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var user = Request.Headers["X-User"].ToString();
        if (user.Length == 0) return Task.FromResult(AuthenticateResult.NoResult());
        var claims = new List<Claim> { new(ClaimTypes.Name, user), new(ClaimTypes.NameIdentifier, "id-" + user) };
        if (Request.Headers["X-Role"].ToString() is { Length: > 0 } role) claims.Add(new Claim(ClaimTypes.Role, role));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, "header")), "header")));
    }
}
