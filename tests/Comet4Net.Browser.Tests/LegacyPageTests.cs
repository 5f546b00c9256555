using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Comet4Net.Browser.Tests;

/// <summary>
/// A page on a double of comet4j-0.1.7.js's connector (its framing rules, in real Chromium XHR)
/// chats with a page on the Comet4Net client, in both legacy work styles.
/// </summary>
[TestClass]
public sealed class LegacyPageTests
{
    [TestMethod]
    [Timeout(90000, CooperativeCancellation = true)]
    [DataRow("stream")]
    [DataRow("lpool")]
    public async Task A_legacy_page_and_a_v2_page_share_the_chat(string workStyle)
    {
        await using var app = await BrowserFixture.StartChatAsync(new()
        {
            ["Comet:WorkStyle"] = workStyle, ["Comet:Timeout"] = "3000", ["Comet:ConnExpires"] = "2000", ["Comet:ConnFrequency"] = "500",
        });
        var url = app.Urls.First();
        // What the server did, printed if a step fails: connects, revivals that found a dying connection, drops.
        using var trail = new ServerTrail(app.Services.GetRequiredService<CometEngine>());
        await trail.RunAsync(() => ShareAsync(app, url, workStyle));
    }

    private async Task ShareAsync(WebApplication app, string url, string workStyle)
    {
        await using var legacyContext = await BrowserFixture.Browser.NewContextAsync();
        await using var modernContext = await BrowserFixture.Browser.NewContextAsync();
        var legacy = await legacyContext.NewPageAsync();
        legacy.SetDefaultTimeout(15000);
        await legacy.GotoAsync(url + "/test/legacy-talker.html?name=Old");
        await Assertions.Expect(legacy.Locator("#state")).ToHaveTextAsync("running");
        await Assertions.Expect(legacy.Locator("#ws")).ToHaveTextAsync(workStyle);

        var modern = await modernContext.NewPageAsync();
        modern.SetDefaultTimeout(15000);
        await modern.GotoAsync(url + "/");
        await modern.FillAsync("#loginName", "New");
        await modern.ClickAsync("#loginButton");
        await Assertions.Expect(legacy.Locator("#log li.up")).ToContainTextAsync(["up Old", "up New"]);

        // The modern page talks; the legacy page shows it.
        await modern.FillAsync("#input", "from the new client");
        await modern.PressAsync("#input", "Enter");
        await Assertions.Expect(legacy.Locator("#log li.talk")).ToHaveTextAsync(["New: from the new client"]);

        // The legacy page talks; the modern page shows it.
        await legacy.EvaluateAsync("() => talk('from the old client: 100% <ok> & 你好')");
        await Assertions.Expect(modern.Locator("#log .msg .text").Last).ToHaveTextAsync("from the old client: 100% <ok> & 你好");

        // A burst from the server: every message reaches the legacy page, in order, through
        // revivals (one frame per long poll; whole frames per stream read), across timeouts.
        var engine = app.Services.GetRequiredService<CometEngine>();
        for (var i = 0; i < 30; i++) engine.SendToAll("talker", new { type = "talk", name = "srv", text = "burst " + i });
        var expected = new[] { "New: from the new client", "Old: from the old client: 100% <ok> & 你好" }
            .Concat(Enumerable.Range(0, 30).Select(i => "srv: burst " + i)).ToArray();
        await Assertions.Expect(legacy.Locator("#log li.talk")).ToHaveTextAsync(expected, new() { Timeout = 30000 });
        await Assertions.Expect(legacy.Locator("#state")).ToHaveTextAsync("running");
        await Assertions.Expect(legacy.Locator("#errors")).ToHaveTextAsync("");

        // A message sent while the legacy page sits through a timeout (dying frame, revival) still arrives.
        var timedOut = 0;
        var watch = engine.On<Events.RevivalEvent>(e => { if (e.Connection!.Dialect == CometDialect.Legacy) Interlocked.Increment(ref timedOut); });
        var deadline = DateTime.UtcNow.AddSeconds(15);
        var before = Volatile.Read(ref timedOut);
        while (Volatile.Read(ref timedOut) < before + 2 && DateTime.UtcNow < deadline) await Task.Delay(50, TestContext.CancellationToken);
        engine.Off(watch);
        Assert.IsGreaterThanOrEqualTo(before + 2, Volatile.Read(ref timedOut), "the legacy page revived after a timeout");
        engine.SendToAll("talker", new { type = "talk", name = "srv", text = "after a timeout" });
        await Assertions.Expect(legacy.Locator("#log li.talk").Last).ToHaveTextAsync("srv: after a timeout");

        // The legacy page closes. Its drop is a synchronous XHR on beforeunload, which today's Chromium
        // refuses during page dismissal, so the server notices by expiry (ConnExpires) and the modern
        // page shows it leaving all the same.
        await legacy.CloseAsync(new() { RunBeforeUnload = true });
        await Assertions.Expect(modern.Locator("#log .sys").Last).ToContainTextAsync("Old left", new() { Timeout = 15000 });
    }

    public TestContext TestContext { get; set; } = null!;
}
