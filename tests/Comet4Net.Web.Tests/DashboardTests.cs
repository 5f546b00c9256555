using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Comet4Net.Tests.Shared;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary><c>app.MapCometDashboard(…)</c>: protected as the admin API, the page served from the library, its figures as JSON.</summary>
[TestClass]
public sealed class DashboardTests
{
    private const string Key = "dashboard-key-0123456789";

    private static async Task<(HttpStatusCode Status, JObject? Body)> StatsAsync(HttpClient client, string? key = Key, string path = "/comet/dashboard/stats")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (key is not null) request.Headers.Add("X-Comet-Admin-Key", key);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.IsSuccessStatusCode ? JObject.Parse(text) : null);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Mapping_the_dashboard_without_a_key_or_policy_stops_the_application_at_startup()
    {
        // As the README maps it, with the setting unset: builder.Configuration["CometAdminKey"] is null.
        var unset = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() =>
            CometTestServer.StartAsync(map: app => app.MapCometDashboard("/comet/dashboard", app.Configuration["CometAdminKey"])));
        Assert.Contains("CometAdminKey", unset.Message);
        Assert.Contains("MapCometDashboard(\"/comet/dashboard\")", unset.Message);
        await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => CometTestServer.StartAsync(map: app => app.MapCometDashboard("/d", "")));
        var shortKey = await Assert.ThrowsExactlyAsync<ArgumentException>(() => CometTestServer.StartAsync(map: app => app.MapCometDashboard("/d", "fifteen-chars15")));
        Assert.Contains("16", shortKey.Message);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task The_page_comes_from_the_library_and_its_figures_need_the_key()
    {
        await using var server = await CometTestServer.StartAsync(map: app => app.MapCometDashboard("/comet/dashboard", Key));
        using var page = await server.Client.GetAsync("/comet/dashboard");
        Assert.AreEqual(HttpStatusCode.OK, page.StatusCode);
        Assert.AreEqual("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<title>Comet4Net dashboard</title>", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", ""), "nothing loaded from elsewhere");
        Assert.DoesNotContain("https://", html);
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        StringAssert.Contains(csp, "default-src 'none'; script-src 'sha256-");
        StringAssert.Contains(csp, "frame-ancestors 'none'");

        Assert.AreEqual(HttpStatusCode.Unauthorized, (await StatsAsync(server.Client, key: null)).Status);
        Assert.AreEqual(HttpStatusCode.Unauthorized, (await StatsAsync(server.Client, key: Key + "x")).Status);
        var (status, body) = await StatsAsync(server.Client);
        Assert.AreEqual(HttpStatusCode.OK, status);
        Assert.AreEqual(server.Engine.NodeId, (string?)body!["node"]);
        Assert.AreEqual(0, (int)body["connections"]!);
        Assert.AreEqual(server.Engine.NodeId, (string?)body["nodes"]!.Single()["node"]);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task The_figures_show_connections_channels_counters_and_the_connection_furthest_behind()
    {
        await using var server = await CometTestServer.StartAsync(map: app => app.MapCometDashboard("/comet/dashboard", Key));
        var quick = new V2Client(server.Client);
        await quick.ConnectAsync("lpool");
        var slow = new V2Client(server.Client);
        await slow.ConnectAsync("lpool");
        foreach (var (client, channel) in new[] { (quick, "news"), (slow, "hello") })
        {
            using var sub = await server.Client.GetAsync($"/conn?cmd=sub&cid={client.Id}&cs={client.Secret}&channel={channel}");
            Assert.AreEqual(HttpStatusCode.OK, sub.StatusCode, await sub.Content.ReadAsStringAsync());
        }
        // Three messages for the slow client alone, which never polls: they wait for its ack.
        for (var i = 0; i < 3; i++) Assert.IsTrue(server.Engine.SendTo("hello", slow.Id, i));
        server.Engine.SendToAll("news", "n");

        var (_, body) = await StatsAsync(server.Client);
        Assert.AreEqual(2, (int)body!["connections"]!);
        Assert.AreEqual(2, (int)body["byWorkStyle"]!["lpool"]!);
        Assert.AreEqual(4, (long)body["counters"]!["messages"]!);
        Assert.AreEqual(1, (int)body["channels"]!.Single(c => (string?)c["name"] == "news")["connections"]!);
        Assert.AreEqual(1, (int)body["channels"]!.Single(c => (string?)c["name"] == "hello")["connections"]!);
        var slowest = (JArray)body["slowest"]!;
        Assert.AreEqual(slow.Id, (string?)slowest[0]["cid"], body.ToString());
        Assert.AreEqual(3, (int)slowest[0]["pending"]!);
        Assert.AreEqual(0, (int)slowest[1]["pending"]!);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_policy_protects_page_and_figures_and_anonymous_access_is_only_by_name()
    {
        await using (var server = await CometTestServer.StartAsync(
            services: s =>
            {
                s.AddAuthentication("header").AddScheme<AuthenticationSchemeOptions, RoleHeader>("header", null);
                s.AddAuthorizationBuilder().AddPolicy("ops", p => p.RequireRole("ops"));
            },
            middleware: app => { app.UseAuthentication(); app.UseAuthorization(); },
            map: app => app.MapCometDashboard("/comet/dashboard", CometAdminAccess.WithPolicy("ops"))))
        {
            using (var page = await server.Client.GetAsync("/comet/dashboard")) Assert.AreEqual(HttpStatusCode.Unauthorized, page.StatusCode);
            Assert.AreEqual(HttpStatusCode.Unauthorized, (await StatsAsync(server.Client, key: null)).Status);
            using var asOps = new HttpRequestMessage(HttpMethod.Get, "/comet/dashboard/stats");
            asOps.Headers.Add("X-Test-Role", "ops");
            using var stats = await server.Client.SendAsync(asOps);
            Assert.AreEqual(HttpStatusCode.OK, stats.StatusCode);
        }
        await using (var server = await CometTestServer.StartAsync(map: app => app.MapCometDashboard("/comet/dashboard", CometAdminAccess.AllowAnonymous)))
            Assert.AreEqual(HttpStatusCode.OK, (await StatsAsync(server.Client, key: null)).Status);
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task On_Redis_every_live_node_is_listed_and_a_stopped_one_leaves()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = "d" + Guid.NewGuid().ToString("N")[..8] + ":";
        await using var a = await CometTestServer.StartAsync(map: app => app.MapCometDashboard("/comet/dashboard", Key), services: s => s.AddRedis(redis.Configuration, o => o.Prefix = prefix));
        var b = await CometTestServer.StartAsync(services: s => s.AddRedis(redis.Configuration, o => o.Prefix = prefix));
        await new V2Client(b.Client).ConnectAsync("lpool");
        JArray nodes = [];
        await Wait.UntilAsync(() =>
        {
            nodes = (JArray)StatsAsync(a.Client).GetAwaiter().GetResult().Body!["nodes"]!;
            return nodes.Count == 2 && nodes.Any(n => (string?)n["node"] == b.Engine.NodeId && (int)n["connections"]! == 1);
        }, 10, "both nodes listed, b with its connection");
        Assert.IsTrue(nodes.Any(n => (string?)n["node"] == a.Engine.NodeId && (bool?)n["redisConnected"] == true), nodes.ToString());
        await b.DisposeAsync();
        await Wait.UntilAsync(() => ((JArray)StatsAsync(a.Client).GetAwaiter().GetResult().Body!["nodes"]!).Count == 1, 10, "the stopped node gone");

        // Redis frozen: the figures still come, within seconds, this node's own, and say so.
        redis.Freeze();
        try
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var (status, body) = await StatsAsync(a.Client);
            Assert.AreEqual(HttpStatusCode.OK, status);
            Assert.IsLessThan(4.0, watch.Elapsed.TotalSeconds, "answered while Redis is frozen");
            StringAssert.Contains((string?)body!["warning"], "this node's own");
            Assert.AreEqual(a.Engine.NodeId, (string?)body["nodes"]!.Single()["node"]);
        }
        finally
        {
            redis.Thaw();
        }
    }

    /// <summary>Signs in whoever sends <c>X-Test-Role</c>, in that role.</summary>
    private sealed class RoleHeader(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
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
