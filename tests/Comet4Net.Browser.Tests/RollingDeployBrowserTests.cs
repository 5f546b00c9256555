using Comet4Net.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Page = Comet4Net.Browser.Tests.ChaosPage;

namespace Comet4Net.Browser.Tests;

/// <summary>
/// A rolling deploy: chat nodes (processes) behind a round-robin proxy, each stopped with SIGTERM
/// and started again in turn while numbered messages flow to pages of every work style. Every page
/// gets every number once, in order, with no gap event, and the proxy never sees the pages come back
/// all at once (reconnects per second below twice the clients ÷ the drain time).
/// </summary>
[TestClass]
[DoNotParallelize] // three chat processes on Redis, restarted one by one: alone (see MSTestSettings.cs)
public sealed class RollingDeployBrowserTests
{
    private static readonly string[] Styles = ["websocket", "stream", "sse", "lpool"];
    private const int DrainMs = 4000;

    public TestContext TestContext { get; set; } = null!;

    private static Task<List<Page>> OpenPagesAsync(string baseUrl, int perStyle) => ChaosPage.OpenAsync(baseUrl, Styles, perStyle);

    /// <summary>A reconnect, as the proxy sees it: a new connection, or a revival that opens a held transport (a long poll's revivals are its polling, not counted).</summary>
    private static bool IsReconnect(string query) =>
        query.Contains("cmd=conn") || query.Contains("cmd=revival") && !query.Contains("ws=lpool");

    private static string Describe(string query)
    {
        var q = System.Web.HttpUtility.ParseQueryString(query);
        return $"{q["cmd"]} {q["ws"]} {q["cid"]?[..Math.Min(6, q["cid"]!.Length)]}";
    }

    private static Dictionary<string, string> ChatSettings(RedisServer redis, string webroot) => new()
    {
        ["Comet__Redis"] = redis.Configuration,
        ["Comet__Timeout"] = "30000",
        ["Comet__Heartbeat"] = "5000",
        ["Comet__DrainTime"] = DrainMs.ToString(),
        ["ASPNETCORE_WEBROOT"] = webroot,
    };

    [TestMethod]
    [Timeout(240000, CooperativeCancellation = true)]
    public async Task A_rolling_deploy_of_three_nodes_loses_nothing_and_spreads_the_reconnects()
    {
        if (!RedisServer.IsAvailable) Assert.Fail("redis-server is not installed: ./test.sh installs it (apt-get install redis-server).");
        var cancel = TestContext.CancellationToken;
        await using var redis = await RedisServer.StartAsync();
        var webroot = Directory.CreateTempSubdirectory("comet4net-deploy-");
        Directory.CreateDirectory(Path.Combine(webroot.FullName, "test"));
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "pages")))
            File.Copy(file, Path.Combine(webroot.FullName, "test", Path.GetFileName(file)));
        var nodes = new List<NodeProcess>();
        var pages = new List<Page>();
        // The sender: a node on the same Redis that no page reaches (not behind the proxy).
        await using var sender = await BrowserFixture.StartCometAsync(o => { }, services: s => s.AddRedis(redis.Configuration));
        var engine = sender.Services.GetRequiredService<CometEngine>();
        ChaosProxy? proxy = null;
        try
        {
            for (var n = 0; n < 3; n++) nodes.Add(await NodeProcess.StartChatAsync(ChatSettings(redis, webroot.FullName), TimeSpan.FromSeconds(30)));
            proxy = await ChaosProxy.StartAsync(new Uri(nodes[0].BaseUrl));
            proxy.Enabled = false;
            proxy.BlockWebSockets = false;
            proxy.FailTimeout = TimeSpan.FromSeconds(10); // nginx's default: a node that refuses is taken out, the request passed on
            proxy.PassOn503 = true; // samples/nginx-cluster.conf: proxy_next_upstream error timeout http_503 (a draining node's 503 goes to the next)
            proxy.Targets = nodes.Select(n => new Uri(n.BaseUrl)).ToArray();
            pages = await OpenPagesAsync(proxy.Url, 3);
            var clients = pages.Count;

            var next = 0;
            var sending = true;
            async Task SendAsync()
            {
                while (Volatile.Read(ref sending))
                {
                    var i = next;
                    if (i % 4 != 0) await engine.SendToAllAsync("news", i);
                    else foreach (var page in pages) Assert.IsTrue(await engine.SendToAsync("hello", page.CId, i), "the page's session takes message " + i);
                    next = i + 1;
                    await Task.Delay(60, cancel);
                }
            }
            var flow = SendAsync();
            await Task.Delay(1000, cancel);
            var deployStart = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var stops = new List<string>();
            for (var n = 0; n < nodes.Count; n++)
            {
                var old = nodes[n];
                var watch = System.Diagnostics.Stopwatch.StartNew();
                old.Terminate();
                Assert.IsTrue(await old.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the node exits within the host's shutdown timeout\n" + old.Output);
                stops.Add($"node {n} exited {watch.ElapsedMilliseconds} ms after SIGTERM");
                nodes[n] = await NodeProcess.StartChatAsync(ChatSettings(redis, webroot.FullName), TimeSpan.FromSeconds(30));
                proxy.Targets = nodes.Select(x => new Uri(x.BaseUrl)).ToArray();
                await old.DisposeAsync();
                await Task.Delay(1500, cancel); // the new node takes its share before the next one stops
            }
            var deployEnd = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await Task.Delay(1000, cancel);
            Volatile.Write(ref sending, false);
            await flow;
            var messages = next;

            var failures = new List<string>();
            foreach (var page in pages)
            {
                try { await page.Tab.WaitForFunctionAsync($"() => window.received.length >= {messages}", null, new() { Timeout = 30000 }); }
                catch (TimeoutException) { }
                var received = await page.Tab.EvaluateAsync<int[]>("() => window.received");
                var gaps = await page.Tab.EvaluateAsync<int>("() => window.gaps.length");
                var duplicates = received.Length - received.Distinct().Count();
                var missing = Enumerable.Range(0, messages).Except(received).Count();
                TestContext.WriteLine($"{page.Style} {page.CId}: sent {messages}, received {received.Length}, missing {missing}, duplicates {duplicates}, gaps {gaps}, stops {await page.Tab.EvaluateAsync<string>("() => JSON.stringify(window.stops)")}");
                if (!received.SequenceEqual(Enumerable.Range(0, messages)) || gaps != 0)
                    failures.Add($"{page.Style} {page.CId}: missing {missing}, duplicates {duplicates}, gaps {gaps} {await page.Tab.EvaluateAsync<string>("() => JSON.stringify(window.gaps)")}");
            }
            foreach (var line in stops) TestContext.WriteLine(line);

            // Reconnects per second at the proxy during the deploy.
            var reconnects = proxy.ConnRequests.Where(r => r.At >= deployStart && r.At <= deployEnd + 1000 && IsReconnect(r.Query)).Select(r => r.At).ToList();
            var perSecond = reconnects.GroupBy(t => (t - deployStart) / 1000).ToDictionary(g => g.Key, g => g.Count());
            var peak = perSecond.Count == 0 ? 0 : perSecond.Values.Max();
            var limit = clients / (DrainMs / 1000.0) * 2;
            TestContext.WriteLine($"{clients} pages, drain {DrainMs} ms: {reconnects.Count} reconnects during the deploy, peak {peak}/s (limit {limit:0.#}/s); per second: {string.Join(" ", perSecond.OrderBy(p => p.Key).Select(p => $"{p.Key}:{p.Value}"))}");
            foreach (var r in proxy.ConnRequests.Where(r => r.At >= deployStart && r.At <= deployEnd + 1000 && IsReconnect(r.Query)))
                TestContext.WriteLine($"  +{r.At - deployStart} ms {Describe(r.Query)}");
            Assert.IsEmpty(failures, string.Join("; ", failures));
            Assert.IsLessThan(limit, peak, "the reconnects are spread over the drain time");
        }
        finally
        {
            foreach (var page in pages) await page.Context.DisposeAsync();
            if (proxy is not null) await proxy.DisposeAsync();
            foreach (var node in nodes) await node.DisposeAsync();
            webroot.Delete(recursive: true);
        }
    }

    [TestMethod]
    [Timeout(180000, CooperativeCancellation = true)]
    public async Task A_restarted_node_without_Redis_tells_returning_pages_of_the_gap_and_their_reconnects_are_spread()
    {
        var webroot = Directory.CreateTempSubdirectory("comet4net-restart-");
        Directory.CreateDirectory(Path.Combine(webroot.FullName, "test"));
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "pages")))
            File.Copy(file, Path.Combine(webroot.FullName, "test", Path.GetFileName(file)));
        var settings = new Dictionary<string, string>
        {
            ["Comet__Timeout"] = "30000", ["Comet__Heartbeat"] = "5000", ["Comet__DrainTime"] = DrainMs.ToString(), ["ASPNETCORE_WEBROOT"] = webroot.FullName,
        };
        NodeProcess? node = null;
        ChaosProxy? proxy = null;
        var pages = new List<Page>();
        try
        {
            node = await NodeProcess.StartChatAsync(settings, TimeSpan.FromSeconds(30));
            proxy = await ChaosProxy.StartAsync(new Uri(node.BaseUrl));
            proxy.Enabled = false;
            proxy.BlockWebSockets = false;
            pages = await OpenPagesAsync(proxy.Url, 3);
            var stopAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            node.Terminate();
            Assert.IsTrue(await node.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the node exits within the host's shutdown timeout\n" + node.Output);
            var exited = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await node.DisposeAsync();
            node = await NodeProcess.StartChatAsync(settings, TimeSpan.FromSeconds(30));
            proxy.Target = new Uri(node.BaseUrl);
            var restarted = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var failures = new List<string>();
            foreach (var page in pages)
            {
                try { await page.Tab.WaitForFunctionAsync("() => window.starts >= 2 && window.gaps.length >= 1", null, new() { Timeout = 40000 }); }
                catch (TimeoutException) { }
                var starts = await page.Tab.EvaluateAsync<int>("() => window.starts");
                var gaps = await page.Tab.EvaluateAsync<string>("() => JSON.stringify(window.gaps)");
                TestContext.WriteLine($"{page.Style}: starts {starts}, gaps {gaps}");
                if (starts < 2 || !gaps.Contains("reset")) failures.Add($"{page.Style} {page.CId}: starts {starts}, gaps {gaps}");
            }
            // The reconnects onto the restarted node: the new connections (cmd=conn), per second.
            var connects = proxy.ConnRequests.Where(r => r.At >= restarted && r.Query.Contains("cmd=conn")).Select(r => r.At).ToList();
            var perSecond = connects.GroupBy(t => (t - restarted) / 1000).ToDictionary(g => g.Key, g => g.Count());
            var peak = perSecond.Count == 0 ? 0 : perSecond.Values.Max();
            var limit = pages.Count / (DrainMs / 1000.0) * 2;
            TestContext.WriteLine($"SIGTERM to exit {exited - stopAt} ms; {pages.Count} pages, {connects.Count} new connections after the restart, peak {peak}/s (limit {limit:0.#}/s); per second: {string.Join(" ", perSecond.OrderBy(p => p.Key).Select(p => $"{p.Key}:{p.Value}"))}");
            foreach (var r in proxy.ConnRequests.Where(r => r.At >= stopAt))
                TestContext.WriteLine($"  +{r.At - stopAt} ms {Describe(r.Query)}{(r.At >= restarted ? " (after the restart)" : "")}");
            TestContext.WriteLine($"exited +{exited - stopAt} ms, restarted +{restarted - stopAt} ms");
            Assert.IsEmpty(failures, "every page is told of the gap (the server forgot its connection) and connects again: " + string.Join("; ", failures));
            // One node: there is no other node to move to. Each page, told to move at its own moment of the drain, gets
            // 503 draining twice in a row and from then on waits between half the node's spread (DrainTime) and all of
            // it, so the pages come back over about that time once the node is back. Before the spread they came back
            // with their short backoffs: 10 of 12 in the restarted node's first second, in 1 of 3 runs.
            // Spread means: never (nearly) all at once, and over several seconds.
            Assert.IsLessThanOrEqualTo(pages.Count * 3 / 4, peak, "the pages come back spread out, not all at once");
            Assert.IsGreaterThanOrEqualTo(2, perSecond.Count, "the reconnects span more than one second");
        }
        finally
        {
            foreach (var page in pages) await page.Context.DisposeAsync();
            if (proxy is not null) await proxy.DisposeAsync();
            if (node is not null) await node.DisposeAsync();
            webroot.Delete(recursive: true);
        }
    }
}
