using Microsoft.Playwright;
using Microsoft.Extensions.DependencyInjection;

namespace Comet4Net.Browser.Tests;

/// <summary>The chat sample in real Chromium: two people talk, one leaves.</summary>
[TestClass]
public sealed class ChatPageTests
{
    private static async Task<IPage> JoinAsync(IBrowserContext context, string url, string name)
    {
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(15000);
        await page.GotoAsync(url);
        await page.FillAsync("#loginName", name);
        await page.ClickAsync("#loginButton");
        await Assertions.Expect(page.Locator("#workStyle")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("streaming|long polling|websocket"));
        return page;
    }

    [TestMethod]
    [Timeout(90000, CooperativeCancellation = true)]
    [DataRow("stream", "streaming")]
    [DataRow("lpool", "long polling")]
    [DataRow("auto", "websocket")]
    public async Task Two_people_talk_and_one_leaves(string workStyle, string shown)
    {
        await using var app = await BrowserFixture.StartChatAsync(new() { ["Comet:WorkStyle"] = workStyle, ["Comet:ConnExpires"] = "2000", ["Comet:ConnFrequency"] = "500" });
        var url = app.Urls.First() + "/";
        await using var annContext = await BrowserFixture.Browser.NewContextAsync();
        await using var bobContext = await BrowserFixture.Browser.NewContextAsync();
        // What the server did, printed if a step fails: connects, revivals, drops (when, whose, why), Bob's console.
        using var trail = new ServerTrail(app.Services.GetRequiredService<CometEngine>());
        var ann = await JoinAsync(annContext, url, "Ann");
        var bob = await JoinAsync(bobContext, url, "Bob");
        trail.Watch(bob, "bob");
        trail.Add($"joined: ann {await ConnectionIdAsync(ann)}, bob {await ConnectionIdAsync(bob)}");
        await trail.RunAsync(() => TalkAsync(url, ann, bob, shown, trail));
    }

    private static Task<string> ConnectionIdAsync(IPage page) => page.EvaluateAsync<string>("() => JS.Engine.getId()");

    private static async Task TalkAsync(string url, IPage ann, IPage bob, string shown, ServerTrail trail)
    {
        await Assertions.Expect(ann.Locator("#workStyle")).ToHaveTextAsync(shown);

        // Each sees the other online; the notice reads "08:27 Bob joined", the time apart from the name.
        await Assertions.Expect(ann.Locator("#log .sys", new() { HasText = "Bob joined" })).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d\d:\d\d Bob joined$"));
        await Assertions.Expect(ann.Locator("#users li", new() { HasText = "Bob" })).ToHaveCountAsync(1);
        await Assertions.Expect(bob.Locator("#users li", new() { HasText = "Ann" })).ToHaveCountAsync(1);

        // A message typed by Ann shows in Bob's page (and in hers), HTML shown as text.
        await ann.FillAsync("#input", "hello Bob <b>bold?</b> 你好");
        await ann.PressAsync("#input", "Enter");
        await Assertions.Expect(bob.Locator("#log .msg").Last).ToContainTextAsync("hello Bob <b>bold?</b> 你好");
        await Assertions.Expect(bob.Locator("#log .msg .who").Last).ToHaveTextAsync("Ann");
        await Assertions.Expect(ann.Locator("#log .msg").Last).ToContainTextAsync("hello Bob");
        await Assertions.Expect(ann.Locator("#input")).ToHaveValueAsync("");

        // Bob answers; several messages in a row arrive in order.
        for (var i = 1; i <= 5; i++)
        {
            await bob.FillAsync("#input", "reply " + i);
            await bob.PressAsync("#input", "Enter");
            await Assertions.Expect(bob.Locator("#input")).ToHaveValueAsync("");
        }
        await Assertions.Expect(ann.Locator("#log .msg .text")).ToHaveTextAsync(["hello Bob <b>bold?</b> 你好", "reply 1", "reply 2", "reply 3", "reply 4", "reply 5"]);

        // Bob types: Ann sees "Bob is typing…" (a client publish on the talker channel).
        await bob.Locator("#input").PressSequentiallyAsync("abc");
        await Assertions.Expect(ann.Locator("#typing")).ToHaveTextAsync("Bob is typing…");
        await bob.FillAsync("#input", "");

        // A private message reaches Bob (all his pages) and not Cid, who joins late and sees the history first.
        await using var cidContext = await BrowserFixture.Browser.NewContextAsync();
        var cid = await JoinAsync(cidContext, url, "Cid");
        trail.Add($"cid joined: {await ConnectionIdAsync(cid)}");
        await Assertions.Expect(cid.Locator("#log .msg.history .text")).ToHaveTextAsync(["hello Bob <b>bold?</b> 你好", "reply 1", "reply 2", "reply 3", "reply 4", "reply 5"]);
        await Assertions.Expect(ann.Locator("#users li", new() { HasText = "Cid" })).ToHaveCountAsync(1);
        await ann.FillAsync("#input", "/msg Bob just between us");
        await ann.PressAsync("#input", "Enter");
        await Assertions.Expect(bob.Locator("#log .msg.private .text")).ToHaveTextAsync(["just between us"]);
        await Assertions.Expect(ann.Locator("#log .msg.private .text")).ToHaveTextAsync(["just between us"]);
        await cid.FillAsync("#input", "/msg Nobody hello?");
        await cid.PressAsync("#input", "Enter");
        await Assertions.Expect(cid.Locator("#status")).ToContainTextAsync("Nobody is not online");
        await Assertions.Expect(cid.Locator("#log .msg.private")).ToHaveCountAsync(0);
        await cid.CloseAsync(new() { RunBeforeUnload = true });

        // Health figures arrive every 5 s.
        await Assertions.Expect(bob.Locator("#connectorCount")).ToHaveTextAsync("2", new() { Timeout = 12000 });

        // Ann closes her page: Bob sees her leave.
        trail.Add("ann closes");
        await ann.CloseAsync(new() { RunBeforeUnload = true });
        trail.Add("ann closed");
        await Assertions.Expect(bob.Locator("#log .sys").Last).ToContainTextAsync("Ann left");
        await Assertions.Expect(bob.Locator("#users li", new() { HasText = "Ann" })).ToHaveCountAsync(0);
        await Assertions.Expect(bob.Locator("#users li")).ToHaveCountAsync(1);
    }

    [TestMethod]
    [Timeout(90000, CooperativeCancellation = true)]
    public async Task Someone_who_joins_while_the_member_list_is_on_its_way_is_still_listed()
    {
        // The page loads the member list when it starts and applies join notices as they come. On a
        // slow network (or a server just started) the list can land after a newer join notice: the
        // notice must not be lost when it does. Ann's list answers are held back two seconds.
        await using var app = await BrowserFixture.StartChatAsync();
        var url = app.Urls.First() + "/";
        await using var annContext = await BrowserFixture.Browser.NewContextAsync();
        await using var bobContext = await BrowserFixture.Browser.NewContextAsync();
        var listed = new TaskCompletionSource();
        var landed = new TaskCompletionSource();
        await annContext.RouteAsync("**/talk.do?cmd=list", async route =>
        {
            var answer = await route.FetchAsync(); // the list as the server has it now, without Bob
            listed.TrySetResult();
            await Task.Delay(2000);
            await route.FulfillAsync(new() { Response = answer });
            landed.TrySetResult();
        });
        var ann = await JoinAsync(annContext, url, "Ann");
        await listed.Task.WaitAsync(TimeSpan.FromSeconds(15));
        var bob = await JoinAsync(bobContext, url, "Bob");
        await Assertions.Expect(ann.Locator("#users li", new() { HasText = "Bob" })).ToHaveCountAsync(1);
        await Assertions.Expect(ann.Locator("#userCount")).ToHaveTextAsync("(2)", new() { Timeout = 5000 });
        await landed.Task.WaitAsync(TimeSpan.FromSeconds(15)); // the held-back list, without Bob, lands now
        await Assertions.Expect(ann.Locator("#users")).ToHaveAttributeAsync("data-listed", "1"); // and the page has applied it
        await Assertions.Expect(ann.Locator("#users li", new() { HasText = "Bob" })).ToHaveCountAsync(1);
        await Assertions.Expect(ann.Locator("#userCount")).ToHaveTextAsync("(2)");
        await Assertions.Expect(bob.Locator("#userCount")).ToHaveTextAsync("(2)");
    }

    [TestMethod]
    [Timeout(90000, CooperativeCancellation = true)]
    public async Task Behind_a_proxy_that_refuses_WebSocket_upgrades_the_chat_falls_back_to_streaming()
    {
        await using var app = await BrowserFixture.StartChatAsync();
        await using var proxy = await Comet4Net.Tests.Shared.ChaosProxy.StartAsync(new Uri(app.Urls.First()));
        proxy.Enabled = false;
        proxy.BlockWebSockets = true;
        await using var annContext = await BrowserFixture.Browser.NewContextAsync();
        await using var bobContext = await BrowserFixture.Browser.NewContextAsync();
        var ann = await JoinAsync(annContext, proxy.Url + "/", "Ann");
        var bob = await JoinAsync(bobContext, proxy.Url + "/", "Bob");
        await Assertions.Expect(ann.Locator("#workStyle")).ToHaveTextAsync("streaming");
        await Assertions.Expect(bob.Locator("#workStyle")).ToHaveTextAsync("streaming");
        await ann.FillAsync("#input", "through the proxy");
        await ann.PressAsync("#input", "Enter");
        await Assertions.Expect(bob.Locator("#log .msg .text").Last).ToHaveTextAsync("through the proxy");
    }
}
