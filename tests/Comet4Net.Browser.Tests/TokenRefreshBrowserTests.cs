using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Comet4Net.Browser.Tests;

/// <summary>
/// Token refresh in real Chromium (test/token.html): a page whose token lives 20 s stays on one connection for two
/// minutes, and a page whose refresh is refused (or whose token callback fails) stops with the reason.
/// </summary>
[TestClass]
public sealed class TokenRefreshBrowserTests
{
    private const string Key = "browser-token-refresh-key-0123456789abcdef";

    public TestContext TestContext { get; set; } = null!;

    /// <summary>A server whose /test/token issues tokens of <paramref name="life"/>, counting cmd=conn requests, cmd=refresh requests and those of an expired connection.</summary>
    private static Task<WebApplication> StartAsync(TimeSpan life, int[] counts) => BrowserFixture.StartCometAsync(o => o.TokenKey = Key, map: app =>
    {
        app.Use(async (http, next) =>
        {
            var cmd = http.Request.Query["cmd"].ToString();
            if (cmd.Length == 0 && http.Request.HasFormContentType) cmd = (await http.Request.ReadFormAsync())["cmd"].ToString();
            if (cmd == "conn") Interlocked.Increment(ref counts[0]);
            else if (cmd == "refresh")
            {
                Interlocked.Increment(ref counts[1]);
                var engine = http.RequestServices.GetRequiredService<CometEngine>();
                var cid = http.Request.HasFormContentType ? (await http.Request.ReadFormAsync())["cid"].ToString() : http.Request.Query["cid"].ToString();
                if (engine.GetConnection(cid) is { } connection && engine.Host.TokenExpired(connection)) Interlocked.Increment(ref counts[2]); // after the expiry
            }
            await next(http);
        });
        app.MapGet("/test/token", (string user, CometContext context) => context.Tokens!.Issue(user, life));
    });

    private static async Task<(IBrowserContext Context, IPage Tab, string CId)> OpenAsync(WebApplication app, string query)
    {
        var context = await BrowserFixture.Browser.NewContextAsync();
        var tab = await context.NewPageAsync();
        tab.SetDefaultTimeout(30000);
        await tab.GotoAsync(app.Urls.First() + "/test/token.html?" + query);
        await tab.WaitForFunctionAsync("() => !!window.cId");
        return (context, tab, await tab.EvaluateAsync<string>("() => window.cId"));
    }

    [TestMethod]
    [Timeout(240000, CooperativeCancellation = true)]
    public async Task A_token_of_20_seconds_keeps_pages_on_one_connection_for_two_minutes_with_nothing_lost()
    {
        var counts = new int[3];
        await using var app = await StartAsync(TimeSpan.FromSeconds(20), counts);
        var engine = app.Services.GetRequiredService<CometEngine>();
        string[] styles = ["websocket", "stream", "lpool"];
        var pages = new List<(IBrowserContext Context, IPage Tab, string CId)>();
        foreach (var style in styles) pages.Add(await OpenAsync(app, "ws=" + style));
        var connections = pages.Select(p => engine.GetConnection(p.CId)).ToArray();
        Assert.AreEqual(3, counts[0]);

        // Numbered broadcasts throughout the two minutes: each page must get every one, once, in order.
        var sent = 0;
        var until = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < until)
        {
            engine.SendToAll("news", sent++);
            await Task.Delay(250, TestContext.CancellationToken);
        }
        for (var i = 0; i < pages.Count; i++)
        {
            var tab = pages[i].Tab;
            await tab.WaitForFunctionAsync($"() => window.received.length >= {sent}");
            CollectionAssert.AreEqual(Enumerable.Range(0, sent).ToArray(), await tab.EvaluateAsync<int[]>("() => window.received"), styles[i]);
            Assert.AreEqual(0, await tab.EvaluateAsync<int>("() => window.gaps.length"), styles[i]);
            Assert.AreEqual(0, await tab.EvaluateAsync<int>("() => window.stops.length"), styles[i]);
            Assert.AreEqual(1, await tab.EvaluateAsync<int>("() => window.starts"), styles[i]);
            Assert.IsGreaterThanOrEqualTo(6, await tab.EvaluateAsync<int>("() => window.asked"), $"{styles[i]}: refreshed about every 15 s");
            Assert.AreSame(connections[i], engine.GetConnection(pages[i].CId), $"{styles[i]}: the same connection throughout");
            Assert.IsGreaterThan(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Hosting.CometHost.TokenExpiresOf(connections[i]!), $"{styles[i]}: its expiry moved");
        }
        Assert.AreEqual(3, counts[0], "no page connected again");
        Assert.IsGreaterThanOrEqualTo(12, counts[1], "the HTTP pages refreshed with cmd=refresh (the socket's go over it)");
        foreach (var page in pages) await page.Context.CloseAsync();
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_refused_refresh_or_a_token_callback_that_gives_nothing_stops_the_page_with_the_reason()
    {
        var counts = new int[3];
        await using var app = await StartAsync(TimeSpan.FromSeconds(4), counts);
        var other = await OpenAsync(app, "next=mallory");
        var none = await OpenAsync(app, "next=none&ws=stream");
        await other.Tab.WaitForFunctionAsync("() => window.stops.length > 0");
        await none.Tab.WaitForFunctionAsync("() => window.stops.length > 0");
        var why = await other.Tab.EvaluateAsync<string[]>("() => window.stops");
        Assert.HasCount(1, why);
        StringAssert.StartsWith(why[0], "forbidden: ");
        StringAssert.Contains(why[0], "another user");
        why = await none.Tab.EvaluateAsync<string[]>("() => window.stops");
        Assert.HasCount(1, why);
        StringAssert.StartsWith(why[0], "token-callback: ");
        Assert.IsFalse(await other.Tab.EvaluateAsync<bool>("() => JS.Engine.running"));
        Assert.AreEqual(2, counts[0], "a stopped page does not connect again");
        await other.Context.CloseAsync();
        await none.Context.CloseAsync();
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_refresh_that_comes_after_the_expiry_gets_token_expired_then_resumes_with_nothing_lost()
    {
        var counts = new int[3];
        await using var app = await StartAsync(TimeSpan.FromSeconds(3), counts);
        var engine = app.Services.GetRequiredService<CometEngine>();
        string[] styles = ["websocket", "stream"];
        var pages = new List<(IBrowserContext Context, IPage Tab, string CId)>();
        foreach (var style in styles) pages.Add(await OpenAsync(app, "slow=3000&ws=" + style));
        var sent = 0;
        var until = DateTime.UtcNow.AddSeconds(8);
        while (DateTime.UtcNow < until)
        {
            engine.SendToAll("news", sent++);
            await Task.Delay(100, TestContext.CancellationToken);
        }
        for (var i = 0; i < pages.Count; i++)
        {
            var tab = pages[i].Tab;
            await tab.WaitForFunctionAsync($"() => window.received.length >= {sent}");
            CollectionAssert.AreEqual(Enumerable.Range(0, sent).ToArray(), await tab.EvaluateAsync<int[]>("() => window.received"), styles[i]);
            Assert.AreEqual(0, await tab.EvaluateAsync<int>("() => window.stops.length"), styles[i]);
            Assert.AreEqual(1, await tab.EvaluateAsync<int>("() => window.starts"), styles[i]);
            Assert.IsGreaterThanOrEqualTo(2, await tab.EvaluateAsync<int>("() => window.asked"), styles[i]);
        }
        Assert.AreEqual(2, counts[0], "no page connected again");
        Assert.IsGreaterThanOrEqualTo(2, counts[2], "each page refreshed after its token expired (told token-expired), at least once");
        foreach (var page in pages) await page.Context.CloseAsync();
    }
}
