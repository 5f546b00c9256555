using Comet4Net.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Comet4Net.Browser.Tests;

/// <summary>
/// Pages on the bundled client, three per work style (lpool, stream, sse), each in a browser
/// context of its own, receive a stream of numbered messages (broadcasts, and messages addressed to
/// each page's connection by id) through what the world does to HTTP: a 20-second outage, a proxy
/// that cuts any streamed chunk, and Debian's nginx with the plain proxy_pass config. Every page must
/// get every number exactly once, in order, with no gap event.
/// </summary>
[TestClass]
public sealed class ResilienceBrowserTests
{
    private static readonly string[] Styles = ["lpool", "stream", "sse", "websocket"];

    public TestContext TestContext { get; set; } = null!;

    private sealed record Page(string Style, IBrowserContext Context, IPage Tab, string CId);

    private async Task<List<Page>> OpenPagesAsync(string baseUrl, int perStyle)
    {
        var pages = new List<Page>();
        foreach (var style in Styles)
        {
            for (var i = 0; i < perStyle; i++)
            {
                var context = await BrowserFixture.Browser.NewContextAsync();
                var tab = await context.NewPageAsync();
                tab.SetDefaultTimeout(30000);
                await tab.GotoAsync(baseUrl + "/test/chaos.html?ws=" + style);
                await tab.WaitForFunctionAsync("() => !!window.cId");
                pages.Add(new Page(style, context, tab, await tab.EvaluateAsync<string>("() => window.cId")));
            }
        }
        return pages;
    }

    /// <summary>Message i: to each page's connection by id when i % 4 == 0, a broadcast otherwise.</summary>
    private static void Send(CometEngine engine, List<Page> pages, int i)
    {
        if (i % 4 != 0)
        {
            engine.SendToAll("news", i);
            return;
        }
        foreach (var page in pages) Assert.IsTrue(engine.SendTo("hello", page.CId, i), "the page's connection (or its kept session) takes message " + i);
    }

    private async Task AssertEveryPageGotEverythingAsync(List<Page> pages, int messages, string what, int timeoutMs)
    {
        var failures = new List<string>();
        foreach (var page in pages)
        {
            try
            {
                await page.Tab.WaitForFunctionAsync($"() => window.received.length >= {messages}", null, new() { Timeout = timeoutMs });
            }
            catch (TimeoutException)
            {
            }
            var received = await page.Tab.EvaluateAsync<int[]>("() => window.received");
            var gaps = await page.Tab.EvaluateAsync<int>("() => window.gaps.length");
            var duplicates = received.Length - received.Distinct().Count();
            var reordered = received.Zip(received.Skip(1)).Count(p => p.Second < p.First);
            var missing = Enumerable.Range(0, messages).Except(received).Count();
            TestContext.WriteLine($"{what}, {page.Style}: sent {messages}, received {received.Length}, missing {missing}, duplicates {duplicates}, reordered {reordered}, gaps {gaps}");
            if (!received.SequenceEqual(Enumerable.Range(0, messages)) || gaps != 0)
                TestContext.WriteLine("  details " + page.Style + " " + page.CId + " gaps=" + await page.Tab.EvaluateAsync<string>("() => JSON.stringify(window.gaps)") + " missing=" + string.Join(",", Enumerable.Range(0, messages).Except(received)) + " seqs=" + await page.Tab.EvaluateAsync<string>("() => JSON.stringify(window.seqs)"));
            if (!received.SequenceEqual(Enumerable.Range(0, messages)) || gaps != 0)
                failures.Add($"{page.Style} page {page.CId}: received {received.Length}, missing {missing}, duplicates {duplicates}, reordered {reordered}, gaps {gaps}");
        }
        Assert.IsEmpty(failures, string.Join("; ", failures));
    }

    private static async Task CloseAsync(List<Page> pages)
    {
        foreach (var page in pages) await page.Context.DisposeAsync();
    }

    [TestMethod]
    [Timeout(180000, CooperativeCancellation = true)]
    public async Task Pages_on_every_work_style_lose_nothing_through_a_20_second_outage()
    {
        // Comet4Net's defaults for what matters here: ConnExpires 5 s (the pages' connections are
        // dropped during the outage) and CacheExpires 60 s (the resume window).
        await using var app = await BrowserFixture.StartCometAsync(o => o.Timeout = 10000);
        var engine = app.Services.GetRequiredService<CometEngine>();
        await using var proxy = await ChaosProxy.StartAsync(new Uri(app.Urls.First()));
        proxy.Enabled = false; // only the outage
        proxy.BlockWebSockets = false;
        var pages = await OpenPagesAsync(proxy.Url, 3);
        var drops = 0;
        engine.On<Events.DropEvent>(e => { if (e.Reason == Events.DropReason.Expired) Interlocked.Increment(ref drops); });
        const int Messages = 300;
        try
        {
            for (var i = 0; i < 100; i++) { Send(engine, pages, i); await Task.Delay(10, TestContext.CancellationToken); }
            var outage = proxy.OutageAsync(TimeSpan.FromSeconds(20), TestContext.CancellationToken);
            for (var i = 100; i < 200; i++) { Send(engine, pages, i); await Task.Delay(150, TestContext.CancellationToken); }
            await outage;
            for (var i = 200; i < Messages; i++) { Send(engine, pages, i); await Task.Delay(10, TestContext.CancellationToken); }
            await AssertEveryPageGotEverythingAsync(pages, Messages, "20 s outage", 60000);
            TestContext.WriteLine($"proxy: {proxy.OutageCuts} requests cut or refused by the outage; {drops} connections dropped by expiry and resumed");
            foreach (var page in pages)
                Assert.AreEqual(page.Style, await page.Tab.EvaluateAsync<string>("() => JS.Engine.getConnector().workStyle"), "an outage is no reason to change work style");
            Assert.IsGreaterThanOrEqualTo(pages.Count, drops, "the outage outlasted ConnExpires: every page's connection was dropped, and resumed");
        }
        finally
        {
            await CloseAsync(pages);
        }
    }

    [TestMethod]
    [Timeout(180000, CooperativeCancellation = true)]
    public async Task Pages_on_every_work_style_lose_nothing_through_a_proxy_that_cuts_any_chunk()
    {
        await using var app = await BrowserFixture.StartCometAsync(o => { o.Timeout = 2000; o.Heartbeat = 500; o.SseRetry = 100; });
        var engine = app.Services.GetRequiredService<CometEngine>();
        await using var proxy = await ChaosProxy.StartAsync(new Uri(app.Urls.First()), seed: 11);
        proxy.CutRate = 0;
        proxy.ChunkCutRate = 0.1; // each chunk of a /conn answer (each WebSocket message): one in ten is the last before the connection is cut
        proxy.BlockWebSockets = false;
        var pages = await OpenPagesAsync(proxy.Url, 3);
        const int Messages = 400;
        try
        {
            for (var i = 0; i < Messages; i++) { Send(engine, pages, i); await Task.Delay(15, TestContext.CancellationToken); }
            await AssertEveryPageGotEverythingAsync(pages, Messages, "10% of chunks cut", 60000);
            TestContext.WriteLine($"proxy: {proxy.Requests} /conn requests, {proxy.Cuts} cut, {proxy.Delays} delayed");
            Assert.IsGreaterThanOrEqualTo(20, proxy.Cuts, "the proxy must have cut many answers");
            foreach (var page in pages.Where(p => p.Style == "websocket"))
                Assert.AreEqual("websocket", await page.Tab.EvaluateAsync<string>("() => JS.Engine.getConnector().workStyle"), "cut sockets are opened again");
        }
        finally
        {
            await CloseAsync(pages);
        }
    }

    [TestMethod]
    [Timeout(180000, CooperativeCancellation = true)]
    public async Task Pages_on_every_work_style_get_everything_promptly_behind_nginx_with_buffering_on()
    {
        if (!NginxProxy.IsAvailable) Assert.Fail("nginx is not installed: ./test.sh installs it (apt-get install nginx-light).");
        await using var app = await BrowserFixture.StartCometAsync(o => o.Timeout = 10000);
        var engine = app.Services.GetRequiredService<CometEngine>();
        await using var nginx = await NginxProxy.StartAsync(new Uri(app.Urls.First()));
        var pages = await OpenPagesAsync(nginx.Url, 3);
        const int Messages = 150;
        try
        {
            for (var i = 0; i < Messages; i++) { Send(engine, pages, i); await Task.Delay(20, TestContext.CancellationToken); }
            // Promptly: a message held in a proxy's buffer would arrive only with the next 10 s timeout, or never.
            await AssertEveryPageGotEverythingAsync(pages, Messages, "nginx, plain proxy_pass", 5000);
            // The plain config does not carry WebSocket upgrades: those pages fell back to streaming, and stayed there.
            foreach (var page in pages)
                Assert.AreEqual(page.Style == "websocket" ? "stream" : page.Style, await page.Tab.EvaluateAsync<string>("() => JS.Engine.getConnector().workStyle"),
                    "a page kept its work style: nginx passed the stream through");
        }
        finally
        {
            await CloseAsync(pages);
        }
    }

    private static async Task<List<WebApplication>> StartNodesAsync(RedisServer redis, Action<CometOptions> configure)
    {
        var nodes = new List<WebApplication>();
        for (var n = 0; n < 3; n++) nodes.Add(await BrowserFixture.StartCometAsync(configure, services: s => s.AddRedis(redis.Configuration)));
        return nodes;
    }

    [TestMethod]
    [Timeout(180000, CooperativeCancellation = true)]
    public async Task Pages_on_every_work_style_lose_nothing_on_three_nodes_behind_round_robin_through_a_20_second_outage()
    {
        if (!RedisServer.IsAvailable) Assert.Fail("redis-server is not installed: ./test.sh installs it (apt-get install redis-server).");
        await using var redis = await RedisServer.StartAsync();
        var nodes = await StartNodesAsync(redis, o => o.Timeout = 10000);
        await using var proxy = await ChaosProxy.StartAsync(new Uri(nodes[0].Urls.First()));
        proxy.Enabled = false;
        proxy.BlockWebSockets = false;
        proxy.Targets = nodes.Select(n => new Uri(n.Urls.First())).ToArray();
        var pages = await OpenPagesAsync(proxy.Url, 3);
        const int Messages = 240;
        try
        {
            Task? outage = null;
            for (var i = 0; i < Messages; i++)
            {
                if (i == 80) outage = proxy.OutageAsync(TimeSpan.FromSeconds(20), TestContext.CancellationToken);
                Send(nodes[i % 3].Services.GetRequiredService<CometEngine>(), pages, i);
                await Task.Delay(i is >= 80 and < 160 ? 250 : 10, TestContext.CancellationToken);
            }
            await outage!;
            await AssertEveryPageGotEverythingAsync(pages, Messages, "3 nodes, round robin, 20 s outage", 60000);
        }
        finally
        {
            await CloseAsync(pages);
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    [TestMethod]
    [Timeout(180000, CooperativeCancellation = true)]
    public async Task Pages_on_every_work_style_lose_nothing_on_three_nodes_behind_round_robin_with_cuts_and_a_node_stopping()
    {
        if (!RedisServer.IsAvailable) Assert.Fail("redis-server is not installed: ./test.sh installs it (apt-get install redis-server).");
        await using var redis = await RedisServer.StartAsync();
        var nodes = await StartNodesAsync(redis, o => { o.Timeout = 3000; o.Heartbeat = 1000; o.SseRetry = 100; });
        await using var proxy = await ChaosProxy.StartAsync(new Uri(nodes[0].Urls.First()), seed: 5);
        proxy.CutRate = 0;
        proxy.DelayRate = 0.1;
        proxy.ChunkCutRate = 0.05;
        proxy.BlockWebSockets = false;
        proxy.Targets = nodes.Select(n => new Uri(n.Urls.First())).ToArray(); // each request to the next node: no sticky sessions
        var pages = await OpenPagesAsync(proxy.Url, 3);
        const int Messages = 300;
        try
        {
            for (var i = 0; i < Messages; i++)
            {
                if (i == Messages / 2)
                {
                    // A node stops mid-run: the balancer takes it out; its clients go on on the others.
                    var gone = nodes[1];
                    nodes.RemoveAt(1);
                    proxy.Targets = nodes.Select(n => new Uri(n.Urls.First())).ToArray();
                    await gone.StopAsync();
                    await gone.DisposeAsync();
                }
                Send(nodes[i % nodes.Count].Services.GetRequiredService<CometEngine>(), pages, i);
                await Task.Delay(20, TestContext.CancellationToken);
            }
            await AssertEveryPageGotEverythingAsync(pages, Messages, "3 nodes, round robin, 5% of chunks cut, a node stopped", 60000);
            TestContext.WriteLine($"proxy: {proxy.Requests} /conn requests over the nodes, {proxy.Cuts} cut");
        }
        finally
        {
            await CloseAsync(pages);
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }
}
