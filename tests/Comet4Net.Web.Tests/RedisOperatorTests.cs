using System.Net;
using System.Text.RegularExpressions;
using Comet4Net.Tests.Shared;

namespace Comet4Net.Web.Tests;

/// <summary>What an operator sees of a node on Redis: the start line, and a quick, quiet stop with Redis down.</summary>
[TestClass]
[DoNotParallelize]
public sealed partial class RedisOperatorTests
{
    [TestMethod]
    [Timeout(90000, CooperativeCancellation = true)]
    public async Task A_node_with_Redis_down_stops_at_once_on_SIGTERM_and_logs_each_kind_of_failure_once_without_stack_traces()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = "op" + Guid.NewGuid().ToString("N")[..8] + ":";
        await using var node = await NodeProcess.StartChatAsync(new Dictionary<string, string>
        {
            ["Comet__Redis"] = redis.Configuration + ",password=not-in-the-log",
            ["Comet__RedisPrefix"] = prefix,
            ["Logging__LogLevel__Comet4Net.Redis"] = "Information",
        }, TimeSpan.FromSeconds(30));
        await WaitUntilAsync(() => node.Output.Contains("Redis backplane is active", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the start line");
        var start = node.Output.Split('\n').Single(l => l.Contains("Redis backplane is active", StringComparison.Ordinal));
        StringAssert.Contains(start, $"127.0.0.1:{redis.Port} (one Redis), key prefix '{prefix}', node ");
        Assert.DoesNotContain("not-in-the-log", node.Output, "the password is never logged");

        // Clients on the node: users, a presence channel, held long polls.
        using var http = new HttpClient { BaseAddress = new Uri(node.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
        var clients = new List<V2Client>();
        for (var i = 0; i < 10; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/conn?cmd=conn&cv=2.0.0&ws=lpool&sub=talker");
            request.Headers.Add("Cookie", "userName=user" + i);
            using var response = await http.SendAsync(request);
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
            var client = new V2Client(http);
            client.Accept(V2Client.Lines(await response.Content.ReadAsStringAsync())[0]);
            clients.Add(client);
        }
        using var stop = new CancellationTokenSource();
        var polls = clients.Select(c => Task.Run(async () =>
        {
            try { while (!stop.IsCancellationRequested) await c.PollAsync(stop.Token); }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException) { } // the node stopped under it
        })).ToArray();

        await redis.StopAsync();
        await WaitUntilAsync(() => node.Output.Contains("[302]", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "the node noticed Redis is gone");
        var took = await node.TerminateAsync(TimeSpan.FromSeconds(30));
        stop.Cancel();
        await Task.WhenAll(polls);

        var output = node.Output;
        Console.WriteLine($"SIGTERM to exit: {took?.TotalMilliseconds:0} ms");
        Assert.IsNotNull(took, "the node stopped on the first SIGTERM; output: " + output);
        // The node first drains (Comet:DrainTime, 5 s by default: its clients are told to move, spread over that time),
        // then stops; Redis being down must add nothing that waits on it (before, 8-11 s of Redis timeouts).
        Assert.IsLessThan(TimeSpan.FromSeconds(5 + 3), took.Value, "with Redis down the node stops once drained (the host waits 30 s at most); output: " + output);
        Assert.AreEqual(0, node.ExitCode, output);
        var stack = output.Split('\n').Where(l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal)).ToArray();
        Assert.IsEmpty(stack, "no stack traces for Redis being down: " + output);
        var lines = output.Split('\n').Select(l => l.Trim()).ToArray();
        var failures = lines.Where(l => l.StartsWith("Comet4Net could not", StringComparison.Ordinal)).Select(l => Repeats().Replace(l, "")).ToArray();
        Assert.IsNotEmpty(failures, output);
        CollectionAssert.AllItemsAreUnique(failures, "each kind of failure is logged once (then counted): " + output);
        foreach (var failure in failures) Console.WriteLine(failure);
        Assert.AreEqual(1, lines.Count(l => l.StartsWith("Comet4Net is stopping while Redis is unreachable", StringComparison.Ordinal)),
            "the writes skipped while stopping are one line: " + output);
    }

    private static async Task WaitUntilAsync(Func<bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("timed out waiting: " + what);
            await Task.Delay(50);
        }
    }

    [GeneratedRegex(@" \(\d+ more like it in the last \d+ s\)")]
    private static partial Regex Repeats();
}
