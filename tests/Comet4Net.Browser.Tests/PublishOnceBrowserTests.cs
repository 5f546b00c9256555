using Comet4Net.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;

namespace Comet4Net.Browser.Tests;

/// <summary>
/// Exactly-once publishing from real Chromium: behind a proxy that lets each publish reach the server and then
/// cuts its answer (often), 500 JS.Engine.send calls from three pages (websocket, stream, long polling) reach a
/// subscriber once each, in order per page.
/// </summary>
[TestClass]
public sealed class PublishOnceBrowserTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(120000, CooperativeCancellation = true)]
    public async Task Publishes_whose_answers_are_cut_arrive_exactly_once_in_order_per_page()
    {
        int[] counts = [167, 167, 166];
        string[] styles = ["websocket", "stream", "lpool"];
        await using var app = await BrowserFixture.StartCometAsync(o => { o.Timeout = 2000; o.Heartbeat = 1000; }, map: a =>
            a.Services.GetRequiredService<CometContext>().RegisterChannel("room", new ChannelOptions { AllowPublish = true }));
        await using var proxy = await ChaosProxy.StartAsync(new Uri(app.Urls.First()), seed: 21);
        proxy.BlockWebSockets = false;
        proxy.CutRate = 0.05;
        proxy.DelayRate = 0.1;
        proxy.PubCutRate = 0.3;

        // The subscriber reaches the server directly: it sees what the server appended.
        await using var listenerContext = await BrowserFixture.Browser.NewContextAsync();
        var listener = await listenerContext.NewPageAsync();
        listener.SetDefaultTimeout(30000);
        await listener.GotoAsync(app.Urls.First() + "/test/publish.html?listen=1&ws=stream");
        await listener.WaitForFunctionAsync("() => !!window.cId");

        var contexts = new List<Microsoft.Playwright.IBrowserContext>();
        try
        {
            var pages = new List<Microsoft.Playwright.IPage>();
            for (var p = 0; p < counts.Length; p++)
            {
                var context = await BrowserFixture.Browser.NewContextAsync();
                contexts.Add(context);
                var page = await context.NewPageAsync();
                page.SetDefaultTimeout(60000);
                await page.GotoAsync($"{proxy.Url}/test/publish.html?p={p}&n={counts[p]}&ws={styles[p]}");
                await page.WaitForFunctionAsync("() => !!window.cId");
                pages.Add(page);
            }
            var started = DateTime.UtcNow;
            foreach (var page in pages) await page.EvaluateAsync("() => window.publishAll()");
            for (var p = 0; p < pages.Count; p++)
                await pages[p].WaitForFunctionAsync($"() => window.answers.length + window.errors.length >= {counts[p]}");
            var total = counts.Sum();
            await listener.WaitForFunctionAsync($"() => window.received.length >= {total}");
            await Task.Delay(300, TestContext.CancellationToken); // a duplicate would come within it

            var received = await listener.EvaluateAsync<string[]>("() => window.received");
            var dups = 0;
            for (var p = 0; p < pages.Count; p++)
            {
                Assert.IsEmpty(await pages[p].EvaluateAsync<string[]>("() => window.errors"), $"page {p} ({styles[p]}): no publish failed");
                dups += await pages[p].EvaluateAsync<int>("() => window.dups");
                CollectionAssert.AreEqual(Enumerable.Range(0, counts[p]).Select(i => p + ":" + i).ToArray(),
                    received.Where(r => r.StartsWith(p + ":", StringComparison.Ordinal)).ToArray(), $"page {p} ({styles[p]}): once each, in order");
            }
            TestContext.WriteLine($"{received.Length} received of {total} in {(DateTime.UtcNow - started).TotalSeconds:F1} s; proxy: {proxy.PubCuts} publish answers cut, " +
                                  $"{proxy.Cuts} other cuts; {dups} answered as repeats");
            Assert.HasCount(total, received);
            Assert.IsGreaterThanOrEqualTo(50, proxy.PubCuts, "the proxy must have cut many publish answers");
            Assert.IsGreaterThanOrEqualTo(1, dups, "some publishes were answered as repeats");
        }
        finally
        {
            foreach (var context in contexts) await context.DisposeAsync();
        }
    }
}
