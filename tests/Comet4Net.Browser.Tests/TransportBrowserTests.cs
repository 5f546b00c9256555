using System.Diagnostics;
using Comet4Net.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Comet4Net.Browser.Tests;

/// <summary>
/// The client's transports through proxies that treat WebSockets badly: pages on the default work
/// style (the server offers a WebSocket) get every numbered message exactly once and in order, and say
/// with <c>getConnector().workStyle</c> and the transport event which transport they are on.
/// </summary>
[TestClass]
[DoNotParallelize] // asserts bounds of seconds (a wake-up within 2 s, every message within 15 s): alone, see MSTestSettings.cs
public sealed class TransportBrowserTests
{
    public TestContext TestContext { get; set; } = null!;

    private sealed record Page(IBrowserContext Context, IPage Tab, string CId);

    private async Task<List<Page>> OpenPagesAsync(string baseUrl, int count)
    {
        var pages = new List<Page>();
        for (var i = 0; i < count; i++)
        {
            var context = await BrowserFixture.Browser.NewContextAsync();
            var tab = await context.NewPageAsync();
            tab.SetDefaultTimeout(30000);
            await tab.GotoAsync(baseUrl + "/test/chaos.html");
            await tab.WaitForFunctionAsync("() => !!window.cId");
            pages.Add(new Page(context, tab, await tab.EvaluateAsync<string>("() => window.cId")));
        }
        return pages;
    }

    private static void Send(CometEngine engine, List<Page> pages, int i)
    {
        if (i % 4 != 0)
        {
            engine.SendToAll("news", i);
            return;
        }
        foreach (var page in pages) Assert.IsTrue(engine.SendTo("hello", page.CId, i), "the page's connection takes message " + i);
    }

    private async Task AssertEverythingAsync(List<Page> pages, int messages, int timeoutMs)
    {
        var failures = new List<string>();
        foreach (var page in pages)
        {
            try
            {
                await page.Tab.WaitForFunctionAsync($"() => window.received.length >= {messages}", null, new() { Timeout = Math.Max(1, timeoutMs) });
            }
            catch (TimeoutException)
            {
            }
            var received = await page.Tab.EvaluateAsync<int[]>("() => window.received");
            var gaps = await page.Tab.EvaluateAsync<int>("() => window.gaps.length");
            var transports = await page.Tab.EvaluateAsync<string[]>("() => window.transports");
            TestContext.WriteLine($"{page.CId}: received {received.Length} of {messages}, gaps {gaps}, transports {string.Join(" ", transports)}");
            if (!received.SequenceEqual(Enumerable.Range(0, messages)) || gaps != 0)
                failures.Add($"{page.CId}: received {received.Length} ({received.Distinct().Count()} distinct), gaps {gaps}, transports {string.Join(" ", transports)}");
        }
        Assert.IsEmpty(failures, string.Join("; ", failures));
    }

    private static async Task<string[]> StylesAsync(List<Page> pages)
    {
        var styles = new List<string>();
        foreach (var page in pages) styles.Add(await page.Tab.EvaluateAsync<string>("() => JS.Engine.getConnector().workStyle"));
        return styles.ToArray();
    }

    [TestMethod]
    [Timeout(120000, CooperativeCancellation = true)]
    public async Task Pages_on_the_default_work_style_get_everything_within_15_s_through_a_proxy_that_swallows_WebSocket_upgrades()
    {
        await using var app = await BrowserFixture.StartCometAsync(o => o.Timeout = 10000);
        var engine = app.Services.GetRequiredService<CometEngine>();
        await using var proxy = await ChaosProxy.StartAsync(new Uri(app.Urls.First()));
        proxy.Enabled = false;
        proxy.BlockWebSockets = false;
        proxy.SwallowWebSockets = true; // the upgrade is taken and never answered
        var clock = Stopwatch.StartNew();
        var pages = await OpenPagesAsync(proxy.Url, 3);
        const int Messages = 150;
        try
        {
            for (var i = 0; i < Messages; i++) { Send(engine, pages, i); await Task.Delay(20, TestContext.CancellationToken); }
            await AssertEverythingAsync(pages, Messages, 15000 - (int)clock.ElapsedMilliseconds);
            TestContext.WriteLine($"all in {clock.ElapsedMilliseconds} ms; {proxy.SwallowedUpgrades} upgrades swallowed");
            Assert.IsLessThanOrEqualTo(15000L, clock.ElapsedMilliseconds, "every message within 15 s of the pages' start");
            Assert.IsGreaterThanOrEqualTo(3, proxy.SwallowedUpgrades, "each page tried a WebSocket first");
            CollectionAssert.AreEqual(new[] { "stream", "stream", "stream" }, await StylesAsync(pages), "workStyle says the transport in use");
            foreach (var page in pages)
            {
                var transports = await page.Tab.EvaluateAsync<string[]>("() => window.transports");
                CollectionAssert.AreEqual(new[] { "websocket:connect", "stream:open-timeout" }, transports.Take(2).ToArray());
            }
        }
        finally
        {
            foreach (var page in pages) await page.Context.DisposeAsync();
        }
    }

    [TestMethod]
    [Timeout(180000, CooperativeCancellation = true)]
    public async Task Pages_return_to_WebSocket_when_it_works_again_through_a_proxy_that_drops_established_sockets()
    {
        await using var app = await BrowserFixture.StartCometAsync(o => { o.Timeout = 2000; o.Heartbeat = 500; });
        var engine = app.Services.GetRequiredService<CometEngine>();
        await using var proxy = await ChaosProxy.StartAsync(new Uri(app.Urls.First()), seed: 3);
        proxy.CutRate = 0;
        proxy.DelayRate = 0;
        proxy.ChunkCutRate = 0.05; // now and then a socket (or a streamed answer) is cut after a message
        proxy.BlockWebSockets = false;
        var pages = await OpenPagesAsync(proxy.Url, 3);
        var cancel = TestContext.CancellationToken;
        try
        {
            // Cut sockets that had worked: each page opens a WebSocket again.
            for (var i = 0; i < 100; i++) { Send(engine, pages, i); await Task.Delay(30, cancel); }
            await AssertEverythingAsync(pages, 100, 30000);
            TestContext.WriteLine($"proxy: {proxy.Cuts} cuts so far");
            Assert.IsGreaterThanOrEqualTo(3, proxy.Cuts);
            CollectionAssert.AreEqual(new[] { "websocket", "websocket", "websocket" }, await StylesAsync(pages), "cut sockets are opened again");

            // Upgrades are now swallowed and every connection cut: the pages move to streaming.
            proxy.SwallowWebSockets = true;
            await proxy.OutageAsync(TimeSpan.FromMilliseconds(500), cancel);
            foreach (var page in pages) await page.Tab.WaitForFunctionAsync("() => JS.Engine.getConnector().workStyle === 'stream'", null, new() { Timeout = 30000 });
            for (var i = 100; i < 200; i++) { Send(engine, pages, i); await Task.Delay(30, cancel); }
            await AssertEverythingAsync(pages, 200, 30000);

            // WebSockets pass again: each page goes back to one (upgradeAfter, 10 s after its fall, doubling after a failed try).
            proxy.SwallowWebSockets = false;
            foreach (var page in pages) await page.Tab.WaitForFunctionAsync("() => JS.Engine.getConnector().workStyle === 'websocket'", null, new() { Timeout = 60000 });
            for (var i = 200; i < 300; i++) { Send(engine, pages, i); await Task.Delay(30, cancel); }
            await AssertEverythingAsync(pages, 300, 30000);
            foreach (var page in pages)
            {
                var transports = await page.Tab.EvaluateAsync<string[]>("() => window.transports");
                CollectionAssert.Contains(transports, "stream:open-timeout");
                Assert.AreEqual("websocket:upgrade", transports[^1], "back on a WebSocket: " + string.Join(" ", transports));
            }
            CollectionAssert.AreEqual(new[] { "websocket", "websocket", "websocket" }, await StylesAsync(pages));
        }
        finally
        {
            foreach (var page in pages) await page.Context.DisposeAsync();
        }
    }
}
