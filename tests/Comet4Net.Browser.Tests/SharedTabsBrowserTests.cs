using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Comet4Net.Browser.Tests;

/// <summary>
/// Three tabs of one browser on a page started with <c>shareTabs</c>: one connection, held by the master
/// tab, whose messages every tab receives; when the master tab closes, another takes the same connection
/// over from the last sequence number, and no tab misses or repeats a message.
/// </summary>
[TestClass]
public sealed class SharedTabsBrowserTests
{
    public TestContext TestContext { get; set; } = null!;

    private static async Task<IPage[]> MastersAsync(IEnumerable<IPage> tabs)
    {
        var masters = new List<IPage>();
        foreach (var tab in tabs) if (await tab.EvaluateAsync<bool>("() => JS.Engine.isMaster()")) masters.Add(tab);
        return [.. masters];
    }

    private async Task AssertReceivedAsync(IPage tab, int messages, string what)
    {
        try
        {
            await tab.WaitForFunctionAsync($"() => window.received.length >= {messages}", null, new() { Timeout = 20000 });
        }
        catch (TimeoutException)
        {
        }
        var received = await tab.EvaluateAsync<int[]>("() => window.received");
        var gaps = await tab.EvaluateAsync<int>("() => window.gaps.length");
        var missing = Enumerable.Range(0, messages).Except(received).Count();
        var duplicates = received.Length - received.Distinct().Count();
        TestContext.WriteLine($"{what}: received {received.Length} of {messages}, missing {missing}, duplicates {duplicates}, gaps {gaps}");
        CollectionAssert.AreEqual(Enumerable.Range(0, messages).ToArray(), received, $"{what}: every message once, in order (missing {missing}, duplicates {duplicates})");
        Assert.AreEqual(0, gaps, what + ": no gap event");
    }

    [TestMethod]
    [Timeout(120000, CooperativeCancellation = true)]
    public async Task Three_tabs_share_one_connection_and_lose_nothing_when_the_master_tab_closes()
    {
        await using var app = await BrowserFixture.StartCometAsync(o => o.Timeout = 10000);
        var engine = app.Services.GetRequiredService<CometEngine>();
        await using var context = await BrowserFixture.Browser.NewContextAsync();
        var tabs = new List<IPage>();
        for (var i = 0; i < 3; i++)
        {
            var tab = await context.NewPageAsync();
            tab.SetDefaultTimeout(20000);
            await tab.GotoAsync(app.Urls.First() + "/test/tabs.html");
            await tab.WaitForFunctionAsync("() => !!window.cId");
            tabs.Add(tab);
        }

        var masters = await MastersAsync(tabs);
        Assert.HasCount(1, masters, "exactly one tab is master");
        Assert.AreEqual(1, engine.ConnectionCount, "the server sees one connection for the three tabs");
        var cId = await masters[0].EvaluateAsync<string>("() => window.cId");
        foreach (var tab in tabs) Assert.AreEqual(cId, await tab.EvaluateAsync<string>("() => JS.Engine.getId()"), "every tab knows the shared connection");

        // A burst: every tab gets all of it, in order, once.
        const int Burst = 100;
        for (var i = 0; i < Burst; i++) engine.SendToAll("news", i);
        for (var t = 0; t < tabs.Count; t++) await AssertReceivedAsync(tabs[t], Burst, $"burst, tab {t}");

        // The master tab closes while the server keeps sending, 200 messages over about two seconds.
        const int Messages = Burst + 200;
        var sending = Task.Run(async () =>
        {
            for (var i = Burst; i < Messages; i++) { engine.SendToAll("news", i); await Task.Delay(10, TestContext.CancellationToken); }
        }, TestContext.CancellationToken);
        var old = masters[0];
        await old.WaitForFunctionAsync($"() => window.received.length >= {Burst + 40}");
        await old.CloseAsync();
        tabs.Remove(old);
        await sending;

        for (var t = 0; t < tabs.Count; t++) await AssertReceivedAsync(tabs[t], Messages, $"after the master closed, tab {t}");
        masters = await MastersAsync(tabs);
        Assert.HasCount(1, masters, "another tab took over");
        CollectionAssert.AreEqual(new[] { true }, await masters[0].EvaluateAsync<bool[]>("() => window.masters"), "the new master was told so");
        Assert.AreEqual(cId, await masters[0].EvaluateAsync<string>("() => JS.Engine.getId()"), "the same connection, resumed");
        Assert.AreEqual(1, engine.ConnectionCount, "still one connection");
    }
}
