using Comet4Net.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Browser.Tests;

/// <summary>
/// Fossil deltas in real Chromium (pages/delta.html, started with { delta: true }): through a proxy
/// that cuts answers and chunks every state arrives whole, once and in order; after an outage the page
/// gets the missed states, the first whole and then deltas again.
/// </summary>
[TestClass]
public sealed class DeltaBrowserTests
{
    public TestContext TestContext { get; set; } = null!;

    private static JObject State(int tick)
    {
        var state = new JObject { ["tick"] = tick };
        state["sensors"] = new JArray(Enumerable.Range(0, 30).Select(i => new JObject { ["name"] = "Sensor number " + i, ["value"] = i + (i == tick % 30 ? tick : 0) }));
        return state;
    }

    private static async Task<(WebApplication App, CometEngine Engine)> StartAsync()
    {
        var app = await BrowserFixture.StartCometAsync(o => { o.Timeout = 400; o.Heartbeat = 200; o.SseRetry = 100; });
        app.Services.GetRequiredService<CometContext>().RegisterChannel("board", new ChannelOptions { Delta = true });
        return (app, app.Services.GetRequiredService<CometEngine>());
    }

    [TestMethod]
    [Timeout(90000, CooperativeCancellation = true)]
    [DataRow("websocket")]
    [DataRow("stream")]
    [DataRow("sse")]
    [DataRow("lpool")]
    public async Task Through_a_proxy_that_cuts_every_state_arrives_whole_once_and_in_order(string style)
    {
        const int states = 300;
        var (app, engine) = await StartAsync();
        await using var _ = app;
        await using var proxy = await ChaosProxy.StartAsync(new Uri(app.Urls.First()), seed: style.Length * 17);
        proxy.BlockWebSockets = false;
        proxy.CutRate = 0.15;
        proxy.ChunkCutRate = 0.05;
        await using var context = await BrowserFixture.Browser.NewContextAsync();
        var tab = await context.NewPageAsync();
        tab.SetDefaultTimeout(20000);
        await tab.GotoAsync(proxy.Url + "/test/delta.html?ws=" + style);
        await tab.WaitForFunctionAsync("() => !!window.cId");
        for (var i = 1; i <= states; i++)
        {
            engine.SendToAll("board", State(i));
            if (i % 2 == 0) await Task.Delay(10, TestContext.CancellationToken);
        }
        await tab.WaitForFunctionAsync($"() => window.ticks.length >= {states}", null, new() { Timeout = 60000 });
        var ticks = await tab.EvaluateAsync<int[]>("() => window.ticks");
        var kinds = await tab.EvaluateAsync<int[]>("() => window.kinds");
        TestContext.WriteLine($"{style}: {ticks.Length} states, {kinds.Count(k => k == 0)} whole, {kinds.Count(k => k == 1)} deltas; proxy: {proxy.Requests} requests, {proxy.Cuts} cuts");
        CollectionAssert.AreEqual(Enumerable.Range(1, states).ToArray(), ticks);
        Assert.AreEqual(0, await tab.EvaluateAsync<int>("() => window.wrong"), "every state whole");
        Assert.IsGreaterThan(states / 2, kinds.Count(k => k == 1), "most states came as deltas");
        Assert.IsGreaterThanOrEqualTo(2, proxy.Cuts, "the proxy must have cut answers");
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task After_an_outage_the_page_gets_the_missed_states_as_deltas_against_the_state_it_confirmed()
    {
        var (app, engine) = await StartAsync();
        await using var _ = app;
        await using var proxy = await ChaosProxy.StartAsync(new Uri(app.Urls.First()));
        proxy.Enabled = false;
        await using var context = await BrowserFixture.Browser.NewContextAsync();
        var tab = await context.NewPageAsync();
        tab.SetDefaultTimeout(20000);
        await tab.GotoAsync(proxy.Url + "/test/delta.html?ws=stream");
        await tab.WaitForFunctionAsync("() => !!window.cId");
        var connection = engine.GetConnection(await tab.EvaluateAsync<string>("() => window.cId"))!;
        for (var i = 1; i <= 5; i++) engine.SendToAll("board", State(i));
        await tab.WaitForFunctionAsync("() => window.ticks.length === 5");

        // The network goes down; once the server has no request of the page's, states go out.
        proxy.Outage = true;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (connection.State != ConnectionState.Dying)
        {
            Assert.IsLessThan(deadline, DateTime.UtcNow, "the held stream ends with the outage");
            await Task.Delay(20, TestContext.CancellationToken);
        }
        for (var i = 6; i <= 15; i++) engine.SendToAll("board", State(i));
        proxy.Outage = false;
        await tab.WaitForFunctionAsync("() => window.ticks.length >= 15");
        var ticks = await tab.EvaluateAsync<int[]>("() => window.ticks");
        var kinds = await tab.EvaluateAsync<int[]>("() => window.kinds");
        CollectionAssert.AreEqual(Enumerable.Range(1, 15).ToArray(), ticks);
        Assert.AreEqual(0, await tab.EvaluateAsync<int>("() => window.wrong"));
        // Its ack confirmed state 5, the base of state 6: deltas all along (none written was lost).
        CollectionAssert.AreEqual(new[] { 0 }.Concat(Enumerable.Repeat(1, 14)).ToArray(), kinds, string.Join(",", kinds));
    }
}
