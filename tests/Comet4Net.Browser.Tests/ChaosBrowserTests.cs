using Comet4Net.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Comet4Net.Browser.Tests;

/// <summary>
/// Real Chromium behind a proxy that cuts 10% of the /conn answers part-way and delays others:
/// 2,000 numbered messages (broadcasts and messages to the page's own connection, mixed) reach the
/// page exactly once and in order, with the Comet4Net client (lpool, stream) and a plain EventSource (sse).
/// </summary>
[TestClass]
public sealed class ChaosBrowserTests
{
    private const int Messages = 2000;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(120000, CooperativeCancellation = true)]
    [DataRow("lpool", "chaos.html?ws=lpool")]
    [DataRow("stream", "chaos.html?ws=stream")]
    [DataRow("sse", "sse.html")]
    public async Task Every_message_arrives_once_and_in_order_through_a_faulty_proxy(string style, string page)
    {
        // Short requests, so that many answers pass through the proxy while the messages go out.
        await using var app = await BrowserFixture.StartCometAsync(o => { o.Timeout = 400; o.Heartbeat = 200; o.SseRetry = 100; });
        var engine = app.Services.GetRequiredService<CometEngine>();
        await using var proxy = await ChaosProxy.StartAsync(new Uri(app.Urls.First()), seed: style.Length * 31);
        await using var context = await BrowserFixture.Browser.NewContextAsync();
        var tab = await context.NewPageAsync();
        tab.SetDefaultTimeout(20000);
        await tab.GotoAsync(proxy.Url + "/test/" + page);
        await tab.WaitForFunctionAsync("() => !!window.cId");
        var cId = await tab.EvaluateAsync<string>("() => window.cId");
        var connection = engine.GetConnection(cId)!;
        Assert.IsNotNull(connection);

        var random = new Random(5);
        for (var i = 0; i < Messages; i++)
        {
            if (random.Next(2) == 0) engine.SendToAll("news", i);
            else engine.SendTo("hello", connection, i);
            if (i % 2 == 0) await Task.Delay(10, TestContext.CancellationToken);
        }
        await tab.WaitForFunctionAsync($"() => window.received.length >= {Messages}", null, new() { Timeout = 60000 });
        var received = await tab.EvaluateAsync<int[]>("() => window.received");
        var gaps = await tab.EvaluateAsync<int>("() => window.gaps.length");
        var duplicates = received.Length - received.Distinct().Count();
        var reordered = received.Zip(received.Skip(1)).Count(p => p.Second < p.First);
        TestContext.WriteLine($"{style}: sent {Messages}, received {received.Length}, duplicates {duplicates}, reordered {reordered}, gaps {gaps}; " +
                              $"proxy: {proxy.Requests} /conn requests, {proxy.Cuts} cut, {proxy.Delays} delayed");
        CollectionAssert.AreEqual(Enumerable.Range(0, Messages).ToArray(), received);
        Assert.AreEqual(0, gaps);
        Assert.IsGreaterThanOrEqualTo(2, proxy.Cuts, "the proxy must have cut answers");
        Assert.AreSame(connection, engine.GetConnection(cId), "the page kept its connection through the faults");
    }

    [TestMethod]
    [Timeout(120000, CooperativeCancellation = true)]
    public async Task The_page_hears_of_a_gap_and_reconnects_by_itself_to_a_restarted_server()
    {
        var port = 0;
        var app = await BrowserFixture.StartCometAsync(o => { o.Timeout = 1000; o.CacheExpires = 500; o.CacheFrequency = 100; o.ConnExpires = 60000; });
        port = new Uri(app.Urls.First()).Port;
        try
        {
            await using var proxy = await ChaosProxy.StartAsync(new Uri(app.Urls.First()));
            proxy.Enabled = false;
            await using var context = await BrowserFixture.Browser.NewContextAsync();
            var tab = await context.NewPageAsync();
            tab.SetDefaultTimeout(20000);
            await tab.GotoAsync(proxy.Url + "/test/chaos.html?ws=stream");
            await tab.WaitForFunctionAsync("() => window.starts === 1");
            var engine = app.Services.GetRequiredService<CometEngine>();
            engine.SendToAll("news", 1);
            await tab.WaitForFunctionAsync("() => window.received.length === 1");

            // Away longer than the kept history: told of the gap, not silence.
            proxy.Blackhole = true;
            var cId = await tab.EvaluateAsync<string>("() => window.cId");
            await WaitAsync(() => engine.GetConnection(cId)?.State == ConnectionState.Dying, "the page to be away");
            engine.SendToAll("news", 2);
            await WaitAsync(() => engine.GetStatistics().LogMessages == 0, "the history to expire");
            engine.SendToAll("news", 3);
            proxy.Blackhole = false;
            await tab.WaitForFunctionAsync("() => window.gaps.length === 1 && window.received.length === 2", null, new() { Timeout = 40000 });
            CollectionAssert.AreEqual(new[] { 1, 3 }, await tab.EvaluateAsync<int[]>("() => window.received"));

            // The server restarts (same port, nothing remembered): the page connects again by itself.
            await app.StopAsync();
            await app.DisposeAsync();
            app = await BrowserFixture.StartCometAsync(o => { o.Timeout = 1000; }, port);
            engine = app.Services.GetRequiredService<CometEngine>();
            await tab.WaitForFunctionAsync("() => window.starts === 2", null, new() { Timeout = 40000 });
            await WaitAsync(() => engine.ConnectionCount == 1, "the page's new connection");
            engine.SendToAll("news", 4);
            await tab.WaitForFunctionAsync("() => window.received.indexOf(4) >= 0");
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    private async Task WaitAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("Timed out waiting for " + what);
            await Task.Delay(20, TestContext.CancellationToken);
        }
    }
}
