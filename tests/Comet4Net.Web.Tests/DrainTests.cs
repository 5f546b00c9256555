using System.Diagnostics;
using System.Net;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// A node that stops drains: new connections are told to go elsewhere (503 draining, Retry-After),
/// each held connection gets a move notice after what was due to it, at moments spread over
/// DrainTime, and the host stops within its shutdown timeout.
/// </summary>
[TestClass]
[DoNotParallelize] // it measures when each move goes out: tests beside it in this process can hold the pool its timers need
public sealed class DrainTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_stopping_node_tells_its_clients_to_move_spread_over_the_drain_time_and_refuses_new_ones()
    {
        const int Clients = 12, DrainMs = 3000;
        await using var server = await CometTestServer.StartAsync(o => { o.Timeout = 30000; o.DrainTime = DrainMs; });
        var clients = new List<V2Client>();
        for (var i = 0; i < Clients; i++)
        {
            var client = new V2Client(server.NewClient());
            await client.ConnectAsync("lpool");
            clients.Add(client);
        }
        // What was due to every client reached it; then each holds a long poll.
        var seq = await server.Engine.SendToAllAsync("news", "last");
        foreach (var client in clients) Assert.AreEqual(seq, (long)(await client.PollAsync(TestContext.CancellationToken)).Frames.Single()["seq"]!);
        var clock = Stopwatch.StartNew();
        var times = new double[Clients];
        var got = clients.Select(async (client, i) =>
        {
            var (status, frames) = await client.PollAsync(TestContext.CancellationToken);
            times[i] = clock.Elapsed.TotalMilliseconds;
            Assert.AreEqual(HttpStatusCode.OK, status);
            return frames;
        }).ToList();
        await Wait.UntilAsync(() => server.Engine.Connections.Count(c => c.State == ConnectionState.Alive) == Clients, 10, "every poll is held");
        clock.Restart();
        var stopping = server.StopAsync(TestContext.CancellationToken);
        await Wait.UntilAsync(() => server.Engine.IsDraining, 5, "the engine drains");
        Assert.IsFalse(server.Engine.IsAccepting);
        using (var refused = await server.NewClient().GetAsync("/conn?cmd=conn&cv=2.0.0", TestContext.CancellationToken))
        {
            Assert.AreEqual(HttpStatusCode.ServiceUnavailable, refused.StatusCode, "a new connection goes elsewhere");
            var body = JObject.Parse(await refused.Content.ReadAsStringAsync(TestContext.CancellationToken));
            Assert.AreEqual("draining", (string?)body["error"]);
            Assert.AreEqual(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
            Assert.AreEqual(DrainMs, (int?)body["spread"], "the window a client with nowhere else to go comes back over");
        }
        var answers = await Task.WhenAll(got);
        foreach (var (frames, i) in answers.Select((f, i) => (f, i)))
        {
            var move = frames.Last();
            Assert.IsTrue(IsMove(move), "the answer ends with a move notice: " + string.Join(" ", frames));
            Assert.IsTrue((int)move["data"]!["after"]! is >= 0 and < 1000, "a small delay hint");
            Assert.AreEqual(seq, clients[i].LastSeq, "what was due came before the move notice");
        }
        // A moved client's next request here goes elsewhere too.
        using (var again = await server.NewClient().GetAsync(clients[0].RevivalUrl("lpool"), TestContext.CancellationToken))
            Assert.IsTrue(again.StatusCode == HttpStatusCode.ServiceUnavailable, "a moved client is sent elsewhere: " + again.StatusCode);
        await stopping;
        var elapsed = clock.Elapsed.TotalMilliseconds;
        Array.Sort(times);
        TestContext.WriteLine($"moves at {string.Join(", ", times.Select(t => ((int)t).ToString()))} ms; stopped after {(int)elapsed} ms");
        // Spread: the first and last moves are most of the window apart, and no half-second holds more than a third of them.
        Assert.IsGreaterThan(DrainMs * 0.5, times[^1] - times[0], "the moves are spread over the drain time");
        var peak = times.Max(t => times.Count(u => u >= t && u < t + 500));
        Assert.IsLessThanOrEqualTo(Clients / 3, peak, "no burst: at most a third of the clients in any half second");
        Assert.IsLessThan(DrainMs + 3000, elapsed, "the host stopped soon after the drain time");
    }

    private static bool IsMove(JObject frame) => (string?)frame["channel"] == "c4j" && frame["data"] is JObject d && (string?)d["type"] == "move";
}
