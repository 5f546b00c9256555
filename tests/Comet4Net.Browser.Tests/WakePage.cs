using Microsoft.Playwright;

namespace Comet4Net.Browser.Tests;

/// <summary>Sends "news" 0, 1, 2, … every <c>everyMs</c> until stopped, each numbered before the next; Count: how many went out.</summary>
internal sealed class Sender
{
    private int _count;

    public Sender(CometEngine engine, int everyMs, CancellationToken stop) => Run = Task.Run(() => LoopAsync(engine, everyMs, stop));

    public int Count => Volatile.Read(ref _count);

    public Task Run { get; }

    private async Task LoopAsync(CometEngine engine, int everyMs, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await engine.SendToAllAsync("news", _count);
            Interlocked.Increment(ref _count);
            try { await Task.Delay(everyMs, stop); } catch (OperationCanceledException) { }
        }
    }
}

/// <summary>test/chaos.html as a page that wakes up (src/wake.js): opened, watched, checked (WakeBrowserTests, LifecycleBrowserTests).</summary>
internal static class WakePage
{
    /// <summary>
    /// Opens chaos.html on <paramref name="style"/> once connected, recording the connector's attempts and wake-ups,
    /// and the page's lifecycle (window.lifecycle: name:visibility:ticks:received, pageshow/pagehide with persisted)
    /// against a 50 ms interval (window.ticks), which stops while the page is frozen.
    /// </summary>
    internal static async Task<IPage> OpenAsync(IBrowserContext context, string baseUrl, string style)
    {
        var tab = await context.NewPageAsync();
        tab.SetDefaultTimeout(20000);
        await tab.GotoAsync(baseUrl + "/test/chaos.html?ws=" + style);
        await tab.WaitForFunctionAsync("() => !!window.cId");
        await tab.EvaluateAsync(@"() => {
            window.attempts = 0; window.wakes = []; window.lifecycle = []; window.ticks = 0;
            setInterval(function () { window.ticks++; }, 50);
            ['freeze', 'resume', 'visibilitychange'].forEach(function (n) {
                document.addEventListener(n, function () { window.lifecycle.push(n + ':' + document.visibilityState + ':' + window.ticks + ':' + window.received.length); });
            });
            ['pagehide', 'pageshow'].forEach(function (n) {
                window.addEventListener(n, function (e) { window.lifecycle.push(n + ':persisted=' + e.persisted + ':' + window.ticks + ':' + window.received.length); });
            });
            var c = JS.Engine.getConnector();
            c.on('revival', function () { window.attempts++; });
            c.on('wake', function (reason) { window.wakes.push(reason); });
        }");
        return tab;
    }

    /// <summary>The page has every number 0 … messages-1 exactly once, in order, and no gap (also in a hidden page).</summary>
    internal static async Task AssertReceivedAsync(TestContext test, IPage tab, int messages, int timeoutMs = 20000)
    {
        // Polled on an interval: the default (requestAnimationFrame) never runs in a hidden page.
        await tab.WaitForFunctionAsync($"() => window.received.length >= {messages}", null, new() { Timeout = timeoutMs, PollingInterval = 20 });
        var received = await tab.EvaluateAsync<int[]>("() => window.received");
        test.WriteLine($"sent {messages}, received {received.Length}, duplicates {received.Length - received.Distinct().Count()}");
        CollectionAssert.AreEqual(Enumerable.Range(0, messages).ToArray(), received, "every message exactly once, in order");
        Assert.AreEqual(0, await tab.EvaluateAsync<int>("() => window.gaps.length"), "no gap");
    }

    /// <summary>Waits (20 s at most) for a condition on the server's side.</summary>
    internal static async Task WaitAsync(TestContext test, Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("Timed out waiting for " + what);
            await Task.Delay(20, test.CancellationToken);
        }
    }
}
