using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Browser.Tests;

/// <summary>
/// The dashboard page (<c>app.MapCometDashboard</c>) in Chromium: it asks for the key, then its figures move
/// as clients connect on every work style and messages flow. With <c>COMET_SCREENSHOT=docs/dashboard.png</c>
/// set, it saves a screenshot there (relative to the repository root) once its charts hold 30 samples.
/// </summary>
[TestClass]
public sealed class DashboardBrowserTests
{
    private const string Key = "dashboard-key-0123456789";

    public TestContext TestContext { get; set; } = null!;

    /// <summary>A v2 long-polling client over HTTP (docs/protocol.md): connects on <c>news</c> and, unless idle, polls with its ack until stopped.</summary>
    private static async Task<string> LongPollAsync(HttpClient http, bool idle, CancellationToken stop)
    {
        var first = Lines(await http.GetStringAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&sub=news", stop))[0]["data"]!;
        var (cid, cs, ack) = ((string)first["cId"]!, (string)first["cs"]!, (long)first["seq"]!);
        if (!idle)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    while (!stop.IsCancellationRequested)
                        foreach (var frame in Lines(await http.GetStringAsync($"/conn?cmd=revival&cid={cid}&cs={cs}&ack={ack}", stop)))
                            ack = Math.Max(ack, (long?)frame["seq"] ?? 0);
                }
                catch (Exception e) when (e is OperationCanceledException or HttpRequestException) { }
            }, CancellationToken.None);
        }
        return cid;
    }

    private static List<JObject> Lines(string body) =>
        body.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(JObject.Parse).ToList();

    [TestMethod]
    [Timeout(120000, CooperativeCancellation = true)]
    public async Task The_dashboard_asks_for_the_key_then_shows_connections_traffic_channels_and_the_slowest_connection()
    {
        await using var app = await BrowserFixture.StartCometAsync(o => { o.Heartbeat = 2000; o.Timeout = 20000; o.ConnExpires = 120000; }, // the idle client stays (dying) for the whole test
            map: a => a.MapCometDashboard("/comet/dashboard", Key));
        var url = app.Urls.First();
        var engine = app.Services.GetRequiredService<CometContext>().Engine;
        await using var context = await BrowserFixture.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(20000);
        await page.GotoAsync(url + "/comet/dashboard");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("key needed");
        await page.FillAsync("#key", Key);
        await page.ClickAsync("#keyButton");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("live");
        await Assertions.Expect(page.Locator("#keyForm")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#connections")).ToHaveTextAsync("0");

        // Clients: browser tabs on websocket, stream and sse; two long-polling HTTP clients; one that never polls.
        using var stop = new CancellationTokenSource();
        var tabs = new List<IPage>();
        foreach (var ws in new[] { "websocket", "websocket", "stream", "sse" })
        {
            var tab = await context.NewPageAsync();
            await tab.GotoAsync($"{url}/test/chaos.html?ws={ws}");
            await tab.WaitForFunctionAsync("() => !!window.cId");
            tabs.Add(tab);
        }
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        for (var i = 0; i < 2; i++) await LongPollAsync(http, idle: false, stop.Token);
        var idle = await LongPollAsync(http, idle: true, stop.Token);
        for (var i = 0; i < 5; i++) Assert.IsTrue(engine.SendTo("hello", idle, "private " + i));
        await Assertions.Expect(page.Locator("#connections")).ToHaveTextAsync("7");

        // Traffic: a broadcast every 50 ms until the test ends.
        var sending = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                engine.SendToAll("news", i);
                try { await Task.Delay(50, stop.Token); } catch (OperationCanceledException) { }
            }
        }, CancellationToken.None);
        try
        {
            var positive = new Regex(@"^[1-9]");
            await Assertions.Expect(page.Locator("#sentRate")).ToHaveTextAsync(positive);
            await Assertions.Expect(page.Locator("#deliveredRate")).ToHaveTextAsync(positive);
            var news = page.Locator("#channels tr[data-channel='news']");
            await Assertions.Expect(news).ToHaveCountAsync(1);
            await Assertions.Expect(news.Locator("td").Nth(1)).ToHaveTextAsync("7");
            await Assertions.Expect(page.Locator("#slowest tr").First.Locator("td").First).ToHaveTextAsync(idle);
            await Assertions.Expect(page.Locator("#slowest tr").First.Locator("td").Nth(4)).ToHaveTextAsync("5");
            await Assertions.Expect(page.Locator("#styleLegend")).ToContainTextAsync("websocket 2");
            await Assertions.Expect(page.Locator("#styleLegend")).ToContainTextAsync("lpool 3");
            await Assertions.Expect(page.Locator("#nodes tr")).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator("#styleChart polyline")).Not.ToHaveCountAsync(0);

            if (Environment.GetEnvironmentVariable("COMET_SCREENSHOT") is { Length: > 0 } shot)
            {
                await page.WaitForFunctionAsync("() => +document.body.getAttribute('data-samples') >= 30", null, new() { Timeout = 40000 });
                var path = Path.IsPathRooted(shot) ? shot : Path.Combine(BrowserFixture.RepositoryRoot(), shot);
                await page.ScreenshotAsync(new() { Path = path, FullPage = true });
                TestContext.WriteLine("screenshot: " + path);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await sending;
            foreach (var tab in tabs) await tab.CloseAsync();
        }
    }
}
