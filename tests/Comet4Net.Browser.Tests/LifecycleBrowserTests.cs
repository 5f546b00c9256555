using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Comet4Net.Browser.Tests;

/// <summary>
/// The Page Lifecycle as Chromium itself runs it, no model: a hidden tab that Chromium freezes and resumes
/// (the freeze and resume events, the page's timers stopped between), and a page kept in the back-forward
/// cache and brought back (pageshow with persisted), while the server keeps sending; the page is test/chaos.html
/// on the bundled client (src/wake.js wakes it up).
/// </summary>
[TestClass]
[DoNotParallelize] // asserts bounds of seconds (a wake-up within 2 s, every message within 15 s): alone, see MSTestSettings.cs
public sealed class LifecycleBrowserTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>
    /// A Chromium of the test's own, in which a tab can be hidden and a page can go into the back-forward cache.
    /// Playwright's own pages cannot: it turns on focus emulation (Emulation.setFocusEmulationEnabled) for each
    /// page it opens, which in Chromium counts as a capture that keeps the page visible: a tab behind another,
    /// or in a minimized window, stays 'visible', and Page.setWebLifecycleState frozen is ignored (a visible page
    /// is never frozen). And it launches Chromium with --disable-back-forward-cache. So this one is launched
    /// without that switch and with a debugging port, and driven through ConnectOverCDP with NoDefaults:
    /// in its default context Playwright turns no focus emulation on.
    /// </summary>
    private sealed class LifecycleBrowser : IAsyncDisposable
    {
        private IBrowser _launched = null!;
        private IBrowser _connected = null!;

        public IBrowserContext Context => _connected.Contexts[0];

        public static async Task<LifecycleBrowser> StartAsync()
        {
            var port = FreePort();
            var options = BrowserFixture.LaunchOptions($"--remote-debugging-port={port}");
            options.IgnoreDefaultArgs = ["--disable-back-forward-cache"];
            var browser = new LifecycleBrowser();
            browser._launched = await BrowserFixture.Playwright.Chromium.LaunchAsync(options);
            browser._connected = await BrowserFixture.Playwright.Chromium.ConnectOverCDPAsync($"http://127.0.0.1:{port}", new() { NoDefaults = true });
            return browser;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var page in Context.Pages.ToList()) await page.CloseAsync();
            await _connected.CloseAsync();
            await _launched.CloseAsync();
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_tab_Chromium_freezes_gets_every_message_sent_while_frozen_once_it_resumes()
    {
        // Answers end every second: the one open when the tab froze ends while it is frozen.
        await using var app = await BrowserFixture.StartCometAsync(o => { o.Timeout = 1000; o.Heartbeat = 500; });
        var engine = app.Services.GetRequiredService<CometEngine>();
        await using var browser = await LifecycleBrowser.StartAsync();
        var tab = await WakePage.OpenAsync(browser.Context, app.Urls.First(), "stream");
        var cdp = await browser.Context.NewCDPSessionAsync(tab);
        using var stop = new CancellationTokenSource();
        var sender = new Sender(engine, 50, stop.Token);
        await tab.WaitForFunctionAsync("() => window.received.length >= 5");

        // Hidden (another tab in front), then frozen by Chromium: the freeze event, and from then on no task of the page runs.
        var other = await browser.Context.NewPageAsync();
        await other.BringToFrontAsync();
        await tab.WaitForFunctionAsync("() => document.visibilityState === 'hidden'");
        await cdp.SendAsync("Page.setWebLifecycleState", new Dictionary<string, object> { ["state"] = "frozen" });
        // (Runtime.evaluate still answers in a frozen page, but a page-side poll would not run: poll from here.)
        await PollAsync(tab, "window.lifecycle.some(function (e) { return e.indexOf('freeze:') === 0; })", "the freeze event");
        var frozenAt = sender.Count;
        var ticksFrozen = await tab.EvaluateAsync<int>("() => window.ticks");
        var receivedFrozen = await tab.EvaluateAsync<int>("() => window.received.length");
        await WakePage.WaitAsync(TestContext, () => sender.Count >= frozenAt + 60, "60 messages sent while frozen");
        var ticksLater = await tab.EvaluateAsync<int>("() => window.ticks");
        var receivedLater = await tab.EvaluateAsync<int>("() => window.received.length");
        Assert.AreEqual(ticksFrozen, ticksLater, "the page's 50 ms timer did not fire for 3 s: the page was frozen");
        Assert.AreEqual(receivedFrozen, receivedLater, "nothing delivered while frozen");

        // Resumed, still hidden: only the resume event can have woken the connection.
        var missed = sender.Count;
        var clock = Stopwatch.StartNew();
        await cdp.SendAsync("Page.setWebLifecycleState", new Dictionary<string, object> { ["state"] = "active" });
        await tab.WaitForFunctionAsync($"() => window.received.length >= {missed}", null, new() { PollingInterval = 20 });
        var resumed = clock.ElapsedMilliseconds;
        var visibility = await tab.EvaluateAsync<string>("() => document.visibilityState");
        var lifecycle = await tab.EvaluateAsync<string[]>("() => window.lifecycle");
        var wakes = await tab.EvaluateAsync<string[]>("() => window.wakes");
        TestContext.WriteLine($"frozen with {frozenAt} sent, timer at {ticksFrozen} ticks; {missed - frozenAt} more sent while frozen; " +
                              $"all received {resumed} ms after the resume, {visibility}; wakes: {string.Join(",", wakes)}; lifecycle: {string.Join(",", lifecycle)}");
        stop.Cancel();
        await sender.Run;
        Assert.AreEqual("hidden", visibility, "resumed but still in the background");
        Assert.IsTrue(lifecycle.Any(e => e.StartsWith("resume:", StringComparison.Ordinal)), "the resume event fired");
        CollectionAssert.Contains(wakes, "resume", "woken by the resume event");
        Assert.IsLessThan(2000, resumed, "caught up within 2 s of the resume");
        await WakePage.AssertReceivedAsync(TestContext, tab, sender.Count);
        Assert.AreEqual(1, await tab.EvaluateAsync<int>("() => window.starts"), "the same connection, resumed by position");
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    [DataRow("websocket")]
    [DataRow("stream")]
    [DataRow("sse")]
    [DataRow("lpool")]
    public async Task A_page_back_from_the_back_forward_cache_gets_every_message_sent_while_away(string style)
    {
        await using var app = await BrowserFixture.StartCometAsync(o => { o.Timeout = 1000; o.Heartbeat = 500; });
        var engine = app.Services.GetRequiredService<CometEngine>();
        await using var browser = await LifecycleBrowser.StartAsync();
        var baseUrl = app.Urls.First();
        var tab = await WakePage.OpenAsync(browser.Context, baseUrl, style);
        using var stop = new CancellationTokenSource();
        var sender = new Sender(engine, 50, stop.Token);
        await tab.WaitForFunctionAsync("() => window.received.length >= 5");
        await tab.EvaluateAsync("() => { window.leftAt = window.received.length; }"); // a reload would lose it

        // Away on another page of the same origin while the server sends 40 more.
        await tab.GotoAsync(baseUrl + "/test/away.html");
        var left = sender.Count;
        await WakePage.WaitAsync(TestContext, () => sender.Count >= left + 40, "40 messages sent while away");
        var missed = sender.Count;
        var clock = Stopwatch.StartNew();
        await tab.GoBackAsync(new() { WaitUntil = WaitUntilState.Commit }); // a page from the cache has no load event
        var restored = await tab.EvaluateAsync<JsonElement>(@"() => {
            var nav = performance.getEntriesByType('navigation')[0];
            return { kept: typeof window.leftAt === 'number', type: nav.type,
                     notRestored: JSON.stringify(nav.notRestoredReasons || null) };
        }");
        TestContext.WriteLine($"back: {restored}");
        Assert.IsTrue(restored.GetProperty("kept").GetBoolean(), $"the page came back from the back-forward cache, not reloaded: {restored}");

        await tab.WaitForFunctionAsync($"() => window.received.length >= {missed}", null, new() { Timeout = 10000, PollingInterval = 20 });
        var back = clock.ElapsedMilliseconds;
        var lifecycle = await tab.EvaluateAsync<string[]>("() => window.lifecycle");
        var wakes = await tab.EvaluateAsync<string[]>("() => window.wakes");
        TestContext.WriteLine($"{style}: left with {left} sent, {missed - left} more sent while away, all received {back} ms after going back; " +
                              $"wakes: {string.Join(",", wakes)}; lifecycle: {string.Join(",", lifecycle)}; starts {await tab.EvaluateAsync<int>("() => window.starts")}");
        stop.Cancel();
        await sender.Run;
        Assert.IsTrue(lifecycle.Any(e => e.StartsWith("pagehide:persisted=true", StringComparison.Ordinal)), "left into the cache");
        Assert.IsTrue(lifecycle.Any(e => e.StartsWith("pageshow:persisted=true", StringComparison.Ordinal)), "pageshow from the cache");
        CollectionAssert.Contains(wakes, "pageshow", "woken by pageshow");
        Assert.IsLessThan(2000, back, "every message sent while away within 2 s of going back");
        await WakePage.AssertReceivedAsync(TestContext, tab, sender.Count);
    }

    /// <summary>Polls an expression from the test (Runtime.evaluate runs even in a frozen page, whose own timers do not).</summary>
    private async Task PollAsync(IPage tab, string expression, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await tab.EvaluateAsync<bool>("() => " + expression))
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("Timed out waiting for " + what);
            await Task.Delay(20, TestContext.CancellationToken);
        }
    }
}
