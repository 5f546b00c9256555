using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Comet4Net.Events;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

[TestClass]
public sealed class SecurityTests
{
    private const string Key = "a-test-key-that-is-long-enough-0123456789";

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_signed_token_puts_its_user_on_the_connection_and_bad_tokens_get_401()
    {
        await using var server = await CometTestServer.StartAsync(o => { o.TokenKey = Key; o.RequireToken = true; });
        var tokens = server.Context.Tokens!;

        using var ok = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&token=" + Uri.EscapeDataString(tokens.Issue("alice")));
        Assert.AreEqual(HttpStatusCode.OK, ok.StatusCode);
        var id = (string)V2Client.Lines(await ok.Content.ReadAsStringAsync())[0]["data"]!["cId"]!;
        Assert.AreEqual("alice", server.Engine.GetConnection(id)!.UserId);

        var expired = tokens.Issue("alice", TimeSpan.FromSeconds(-1));
        var parts = tokens.Issue("alice").Split('.');
        var forged = string.Join('.', parts[0], Convert.ToBase64String("mallory"u8.ToArray()).TrimEnd('='), parts[2], parts[3]);
        var otherKey = new CometTokens(Key.ToUpperInvariant()).Issue("alice");
        foreach (var (token, why) in new[] { (expired, "expired"), (forged, "signature"), (otherKey, "signature"), ("v1.x.y", "malformed"), ("", "missing") })
        {
            using var refused = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&token=" + Uri.EscapeDataString(token));
            Assert.AreEqual(HttpStatusCode.Unauthorized, refused.StatusCode, token);
            var body = JObject.Parse(await refused.Content.ReadAsStringAsync());
            Assert.AreEqual("invalid-token", (string?)body["error"]);
            Assert.Contains(why, (string)body["message"]!);
        }
        using var none = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0");
        Assert.AreEqual(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.AreEqual(1, server.Engine.ConnectionCount);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Another_client_with_a_wrong_secret_gets_403_and_the_owner_keeps_receiving()
    {
        await using var server = await CometTestServer.StartAsync();
        var owner = new V2Client(server.Client);
        await owner.ConnectAsync("lpool");
        using var thief = server.NewClient("127.0.0.3");
        for (var i = 0; i < 20; i++)
        {
            using var stolen = await thief.GetAsync($"/conn?cmd=revival&cid={owner.Id}&cs={Comet4Net.Connections.ConnectionIds.NewId()}&ack=0");
            Assert.AreEqual(HttpStatusCode.Forbidden, stolen.StatusCode);
        }
        using var drop = await thief.GetAsync($"/conn?cmd=drop&cid={owner.Id}&cs=");
        Assert.AreEqual(HttpStatusCode.Forbidden, drop.StatusCode);
        server.Engine.SendToAll("hello", "still yours");
        var (status, frames) = await owner.PollAsync();
        Assert.AreEqual(HttpStatusCode.OK, status);
        Assert.AreEqual("still yours", (string?)frames.Single()["data"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task The_connection_past_the_limits_gets_429_with_Retry_After()
    {
        await using var server = await CometTestServer.StartAsync(o => { o.MaxConnections = 5; o.MaxConnectionsPerClient = 3; });
        for (var i = 0; i < 3; i++)
        {
            using var r = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0");
            Assert.AreEqual(HttpStatusCode.OK, r.StatusCode);
        }
        using var fourth = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0");
        Assert.AreEqual((HttpStatusCode)429, fourth.StatusCode);
        Assert.IsNotNull(fourth.Headers.RetryAfter);
        Assert.AreEqual("too-many-connections", (string?)JObject.Parse(await fourth.Content.ReadAsStringAsync())["error"]);

        using var other = server.NewClient("127.0.0.4");
        for (var i = 0; i < 2; i++)
        {
            using var r = await other.GetAsync("/conn?cmd=conn&cv=2.0.0");
            Assert.AreEqual(HttpStatusCode.OK, r.StatusCode);
        }
        using var sixth = await other.GetAsync("/conn?cmd=conn&cv=2.0.0");
        Assert.AreEqual((HttpStatusCode)429, sixth.StatusCode);
        Assert.AreEqual(5, server.Engine.ConnectionCount);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task RequireAuthorization_protects_the_endpoint_and_listeners_see_the_user()
    {
        string? seenUser = null;
        await using var server = await CometTestServer.StartAsync(null,
            context => context.Engine.On<ConnectEvent>(e => seenUser = e.Connection!.Request.User.Identity?.Name),
            services: s =>
            {
                s.AddAuthentication("Header").AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>("Header", null);
                s.AddAuthorization();
            },
            conventions: c => c.RequireAuthorization(),
            middleware: app => { app.UseAuthentication(); app.UseAuthorization(); });
        using var anonymous = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0");
        Assert.AreEqual(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/conn?cmd=conn&cv=2.0.0");
        request.Headers.Add("X-User", "bob");
        using var signedIn = await server.Client.SendAsync(request);
        Assert.AreEqual(HttpStatusCode.OK, signedIn.StatusCode);
        Assert.AreEqual("bob", seenUser);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Cross_origin_use_is_opt_in_with_ASPNET_Core_CORS()
    {
        await using var server = await CometTestServer.StartAsync(null, null,
            services: s => s.AddCors(o => o.AddPolicy("pages", p => p.WithOrigins("https://pages.example").AllowAnyHeader().AllowAnyMethod())),
            conventions: c => c.RequireCors("pages"),
            middleware: app => app.UseCors());
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/conn?cmd=conn");
        preflight.Headers.Add("Origin", "https://pages.example");
        preflight.Headers.Add("Access-Control-Request-Method", "GET");
        using var allowed = await server.Client.SendAsync(preflight);
        Assert.AreEqual("https://pages.example", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var get = new HttpRequestMessage(HttpMethod.Get, "/conn?cmd=conn&cv=2.0.0");
        get.Headers.Add("Origin", "https://evil.example");
        using var foreign = await server.Client.SendAsync(get);
        Assert.IsFalse(foreign.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Private_messages_past_the_limit_become_a_gap_or_end_the_connection_by_policy()
    {
        var overflows = new List<OverflowEvent>();
        await using var server = await CometTestServer.StartAsync(o => { o.MaxPendingMessages = 5; o.OverflowPolicy = "drop"; },
            context => context.Engine.On<OverflowEvent>(e => { lock (overflows) overflows.Add(e); }));
        var client = new V2Client(server.Client);
        await client.ConnectAsync("lpool");
        for (var i = 0; i < 6; i++) server.Engine.SendTo("hello", client.Id, i);
        Assert.IsNull(server.Engine.GetConnection(client.Id));
        Assert.IsTrue(overflows.Single().ConnectionDropped);
        var (status, body) = await client.PollAsync();
        Assert.AreEqual(HttpStatusCode.Gone, status);
        Assert.AreEqual("kicked", (string?)body[0]["error"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task X_Forwarded_For_counts_only_when_the_app_trusts_its_proxy()
    {
        static async Task<string> ClientIpAsync(CometTestServer server)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/conn?cmd=conn&cv=2.0.0&ws=lpool");
            request.Headers.Add("X-Forwarded-For", "203.0.113.9");
            using var response = await server.Client.SendAsync(request);
            var id = (string)V2Client.Lines(await response.Content.ReadAsStringAsync())[0]["data"]!["cId"]!;
            return server.Engine.GetConnection(id)!.ClientIp;
        }

        await using (var untrusting = await CometTestServer.StartAsync())
        {
            Assert.AreEqual("127.0.0.1", await ClientIpAsync(untrusting), "a client cannot pick its own address");
        }
        await using var trusting = await CometTestServer.StartAsync(o => o.MaxConnectionsPerClient = 1, null,
            services: s => s.Configure<Microsoft.AspNetCore.Builder.ForwardedHeadersOptions>(o =>
            {
                o.ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor;
                o.KnownProxies.Add(IPAddress.Loopback);
            }),
            middleware: app => app.UseForwardedHeaders());
        Assert.AreEqual("203.0.113.9", await ClientIpAsync(trusting));
        // The per-client limit applies to the forwarded address.
        using var second = new HttpRequestMessage(HttpMethod.Get, "/conn?cmd=conn&cv=2.0.0");
        second.Headers.Add("X-Forwarded-For", "203.0.113.9");
        using var refused = await trusting.Client.SendAsync(second);
        Assert.AreEqual((HttpStatusCode)429, refused.StatusCode);
        using var other = new HttpRequestMessage(HttpMethod.Get, "/conn?cmd=conn&cv=2.0.0");
        other.Headers.Add("X-Forwarded-For", "203.0.113.10");
        using var accepted = await trusting.Client.SendAsync(other);
        Assert.AreEqual(HttpStatusCode.OK, accepted.StatusCode);
    }

    private sealed class HeaderAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var user = Request.Headers["X-User"].ToString();
            if (user.Length == 0) return Task.FromResult(AuthenticateResult.NoResult());
            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user)], "Header");
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), "Header")));
        }
    }
}
