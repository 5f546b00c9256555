using System.Diagnostics;
using Comet4Net.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Comet4Net.Browser.Tests;

/// <summary>
/// Pages that wake up (src/wake.js): Chromium offline for 30 s then online, a tab frozen and resumed
/// (the Page Lifecycle's freeze and resume, modelled through CDP: see FreezeAsync), and one frozen past the server's resume window. The page is
/// test/chaos.html on the bundled client, behind the chaos proxy (no random faults: only its outage).
/// </summary>
[TestClass]
[DoNotParallelize] // asserts bounds of seconds (a wake-up within 2 s, every message within 15 s): alone, see MSTestSettings.cs
public sealed class WakeBrowserTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(120000, CooperativeCancellation = true)]
    public async Task Offline_for_30_seconds_then_online_resumes_within_2_seconds_with_every_message_once()
    {
        // Heartbeats every 2 s (a silent stream is noticed in 3 s); the resume window (60 s) outlasts the outage.
        await using var app = await BrowserFixture.StartCometAsync(o => { o.Heartbeat = 2000; o.Timeout = 20000; });
        var engine = app.Services.GetRequiredService<CometEngine>();
        await using var proxy = await ChaosProxy.StartAsync(new Uri(app.Urls.First()));
        proxy.Enabled = false; // no random faults: only the outage below
        await using var context = await BrowserFixture.Browser.NewContextAsync();
        var tab = await WakePage.OpenAsync(context, proxy.Url, "stream");
        using var stop = new CancellationTokenSource();
        var sender = new Sender(engine, 100, stop.Token);
        await tab.WaitForFunctionAsync("() => window.received.length >= 10");

        // The network goes: the browser says offline, and what was open is cut (Chromium's offline
        // emulation fails new requests but leaves an open stream alone; a real loss cuts it too).
        await context.SetOfflineAsync(true);
        proxy.Outage = true;
        Assert.IsFalse(await tab.EvaluateAsync<bool>("() => navigator.onLine"), "the browser says offline");
        await tab.WaitForFunctionAsync("() => JS.Engine.getConnector().state === 'reconnecting'");
        var attemptsOffline = await tab.EvaluateAsync<int>("() => window.attempts");
        await Task.Delay(30000, TestContext.CancellationToken); // the outage the issue asks for (not a wait on a condition)
        var attemptsAfter = await tab.EvaluateAsync<int>("() => window.attempts");

        // Back: measured from the online moment until the page has every message sent while it was away.
        proxy.Outage = false;
        var missed = sender.Count;
        var clock = Stopwatch.StartNew();
        await context.SetOfflineAsync(false);
        await tab.WaitForFunctionAsync($"() => window.received.length >= {missed}", null, new() { Timeout = 20000, PollingInterval = 20 });
        var resumed = clock.ElapsedMilliseconds;
        stop.Cancel();
        await sender.Run;
        var wakes = await tab.EvaluateAsync<string[]>("() => window.wakes");
        TestContext.WriteLine($"offline 30 s: {attemptsAfter - attemptsOffline} attempts while offline, {missed} messages sent by the online moment, " +
                              $"all received {resumed} ms after it; wakes: {string.Join(",", wakes)}; proxy outage cuts {proxy.OutageCuts}");
        Assert.AreEqual(attemptsOffline, attemptsAfter, "no attempt while the browser says offline");
        Assert.IsLessThan(2000, resumed, "resumed within 2 s of coming back");
        CollectionAssert.Contains(wakes, "online");
        await WakePage.AssertReceivedAsync(TestContext, tab, sender.Count);
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_frozen_then_resumed_tab_gets_every_message_sent_while_frozen()
    {
        // Answers end every second: the one open when the tab froze ends while it is frozen.
        await using var app = await BrowserFixture.StartCometAsync(o => { o.Timeout = 1000; o.Heartbeat = 500; });
        var engine = app.Services.GetRequiredService<CometEngine>();
        await using var context = await BrowserFixture.Browser.NewContextAsync();
        var tab = await WakePage.OpenAsync(context, app.Urls.First(), "stream");
        var cdp = await context.NewCDPSessionAsync(tab);
        using var stop = new CancellationTokenSource();
        var sender = new Sender(engine, 50, stop.Token);
        await tab.WaitForFunctionAsync("() => window.received.length >= 5");

        await FreezeAsync(tab, cdp);
        var before = sender.Count;
        await WakePage.WaitAsync(TestContext, () => sender.Count >= before + 60, "60 messages sent while frozen");
        var missed = sender.Count;
        var clock = Stopwatch.StartNew();
        await ThawAsync(tab, cdp);
        await tab.WaitForFunctionAsync($"() => window.received.length >= {missed}", null, new() { PollingInterval = 20 });
        TestContext.WriteLine($"frozen with {before} sent; {missed - before} more sent while frozen; " +
                              $"all received {clock.ElapsedMilliseconds} ms after it; wakes: {string.Join(",", await tab.EvaluateAsync<string[]>("() => window.wakes"))}; " +
                              $"lifecycle: {string.Join(",", await tab.EvaluateAsync<string[]>("() => window.lifecycle"))}");
        stop.Cancel();
        await sender.Run;
        await WakePage.AssertReceivedAsync(TestContext, tab, sender.Count);
        Assert.AreEqual(1, await tab.EvaluateAsync<int>("() => window.starts"), "the same connection, resumed by position");
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_tab_frozen_past_the_resume_window_is_told_of_the_gap()
    {
        // A short resume window: positions are kept 1.5 s, connections away 1 s are dropped.
        await using var app = await BrowserFixture.StartCometAsync(o => { o.Timeout = 1000; o.Heartbeat = 500; o.CacheExpires = 1500; o.CacheFrequency = 100; o.ConnExpires = 1000; o.ConnFrequency = 100; });
        var engine = app.Services.GetRequiredService<CometEngine>();
        await using var context = await BrowserFixture.Browser.NewContextAsync();
        var tab = await WakePage.OpenAsync(context, app.Urls.First(), "stream");
        var cdp = await context.NewCDPSessionAsync(tab);
        engine.SendToAll("news", 0);
        await tab.WaitForFunctionAsync("() => window.received.length === 1");
        var cId = await tab.EvaluateAsync<string>("() => window.cId");

        await FreezeAsync(tab, cdp);
        await WakePage.WaitAsync(TestContext, () => engine.GetConnection(cId) is null, "the frozen page's connection to be dropped");
        engine.SendToAll("news", 1); // while it is away: gone from the log before it comes back
        await WakePage.WaitAsync(TestContext, () => engine.GetStatistics().LogMessages == 0, "the history to expire");
        var clock = Stopwatch.StartNew();
        await ThawAsync(tab, cdp);
        await tab.WaitForFunctionAsync("() => window.gaps.length >= 1", null, new() { PollingInterval = 20 });
        var gaps = await tab.EvaluateAsync<string>("() => JSON.stringify(window.gaps)");
        TestContext.WriteLine($"gap {clock.ElapsedMilliseconds} ms after the resume: {gaps}; starts {await tab.EvaluateAsync<int>("() => window.starts")}");
        engine.SendToAll("news", 2);
        await tab.WaitForFunctionAsync("() => window.received.indexOf(2) >= 0");
        CollectionAssert.AreEqual(new[] { 0, 2 }, await tab.EvaluateAsync<int[]>("() => window.received"), "told of the gap, and live again");
    }

    /// <summary>
    /// Freezes the tab as Chromium freezes a background tab: the freeze event, then no task of the page
    /// runs (timers, network callbacks, events wait in their queues). Chromium's own CDP freeze
    /// (Page.setWebLifecycleState frozen) does nothing to a visible page, and a page Playwright opens stays
    /// visible (its focus emulation counts as a capture; measured: no freeze event, the page's timers kept
    /// running); so the debugger holds the page's main thread instead. The page's 50 ms interval (OpenAsync)
    /// makes the pause take effect at once. LifecycleBrowserTests has Chromium freeze a hidden tab for real.
    /// </summary>
    private static async Task FreezeAsync(IPage tab, ICDPSession cdp)
    {
        await tab.EvaluateAsync("() => document.dispatchEvent(new Event('freeze'))");
        var paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cdp.Event("Debugger.paused").OnEvent += (_, _) => paused.TrySetResult();
        await cdp.SendAsync("Debugger.enable");
        await cdp.SendAsync("Debugger.pause");
        await paused.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// Resumes a tab frozen by <see cref="FreezeAsync"/>, then fires the resume event. (Chromium fires it
    /// before the queued tasks run; a page held by the debugger runs no listener, so here it comes after
    /// them: the wake-up's own order is covered by the client's unit tests, test/wake.test.js.)
    /// </summary>
    private static async Task ThawAsync(IPage tab, ICDPSession cdp)
    {
        await cdp.SendAsync("Debugger.resume");
        await tab.EvaluateAsync("() => document.dispatchEvent(new Event('resume'))");
    }
}
