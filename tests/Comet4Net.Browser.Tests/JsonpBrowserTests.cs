using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Comet4Net.Browser.Tests;

/// <summary>
/// JSON-P in real Chromium: a page served from one origin (http://127.0.0.1:A) listens to a Comet server
/// of another (http://localhost:B) that allows JSON-P and no CORS origin at all.
/// </summary>
[TestClass]
public sealed class JsonpBrowserTests
{
    private const int Messages = 500;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(120000, CooperativeCancellation = true)]
    public async Task A_page_of_another_origin_receives_every_message_of_a_burst_in_order_over_JSON_P()
    {
        // Short long polls, so that the burst spans many script answers.
        await using var comet = await BrowserFixture.StartCometAsync(o => { o.AllowJsonp = true; o.Timeout = 1000; });
        await using var pages = await BrowserFixture.StartCometAsync(_ => { });
        var engine = comet.Services.GetRequiredService<CometEngine>();
        var cometPort = new Uri(comet.Urls.First()).Port;

        await using var context = await BrowserFixture.Browser.NewContextAsync();
        var tab = await context.NewPageAsync();
        tab.SetDefaultTimeout(20000);
        var scripts = 0;
        var xhrs = 0;
        tab.Request += (_, r) =>
        {
            if (!r.Url.StartsWith($"http://localhost:{cometPort}/conn", StringComparison.Ordinal)) return;
            if (r.ResourceType == "script") Interlocked.Increment(ref scripts);
            else if (r.ResourceType is "xhr" or "fetch") Interlocked.Increment(ref xhrs);
        };
        await tab.GotoAsync($"{pages.Urls.First()}/test/jsonp.html?b={cometPort}");
        await tab.WaitForFunctionAsync("() => !!window.cId");
        Assert.AreEqual("lpool", await tab.EvaluateAsync<string>("() => window.workStyle"));
        var cId = await tab.EvaluateAsync<string>("() => window.cId");
        var connection = engine.GetConnection(cId);
        Assert.IsNotNull(connection, "the page's connection is on the other server");
        Assert.AreEqual(CometWorkStyle.LongPoll, connection.Style);

        // The other origin is closed to CORS: an XHR-based client could not read a byte from it.
        var fetchFailed = await tab.EvaluateAsync<bool>("() => fetch(window.cometUrl + '?cmd=conn&cv=2.0.0').then(() => false, () => true)");
        Assert.IsTrue(fetchFailed, "a cross-origin fetch must fail: the server allows no CORS origin");

        var random = new Random(7);
        for (var i = 0; i < Messages; i++)
        {
            if (random.Next(2) == 0) engine.SendToAll("news", i);
            else engine.SendTo("hello", connection, i);
            if (i % 10 == 0) await Task.Delay(15, TestContext.CancellationToken);
        }
        await tab.WaitForFunctionAsync($"() => window.received.length >= {Messages}", null, new() { Timeout = 60000 });
        var received = await tab.EvaluateAsync<int[]>("() => window.received");
        CollectionAssert.AreEqual(Enumerable.Range(0, Messages).ToArray(), received);
        Assert.AreEqual(0, await tab.EvaluateAsync<int>("() => window.gaps"));
        Assert.AreEqual(0, await tab.EvaluateAsync<int>("() => window.stops.length"));
        Assert.AreSame(connection, engine.GetConnection(cId), "one connection throughout");
        Assert.IsGreaterThan(3, scripts, "conn and several revivals went by script tags");
        Assert.AreEqual(1, xhrs, "the only XHR/fetch to the other origin is the test's own failed fetch");

        // The scripts and callbacks of finished requests are gone; only the held revival's remain.
        Assert.AreEqual(1, await tab.EvaluateAsync<int>("() => document.querySelectorAll('script[src*=\"callback=\"]').length"));
        Assert.AreEqual(1, await tab.EvaluateAsync<int>("() => Object.keys(window.c4jJsonp).length"));
    }
}
