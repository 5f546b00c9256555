using System.Collections.Concurrent;
using Comet4Net.Tests.Shared;
using Comet4Net.Web.Tests;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Client.Tests.Functional;

/// <summary>
/// Fossil deltas end to end: the .NET client asks (Delta = true) on a channel registered with
/// ChannelOptions.Delta, on every work style, directly and through a proxy that cuts answers and chunks.
/// The application sees every state whole, once and in order; the server writes far fewer bytes.
/// </summary>
[TestClass]
public sealed class DeltaClientTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>A 2 KB dashboard state whose "tick" is <paramref name="tick"/> (one field changes per message).</summary>
    private static JObject State(int tick)
    {
        var state = new JObject { ["tick"] = tick };
        for (var i = 0; i < 30; i++) state["sensor" + i] = new JObject { ["name"] = "Sensor number " + i, ["unit"] = "°C", ["value"] = 20 + i * 0.5 };
        return state;
    }

    internal sealed record Sensor(string Name, string Unit, double Value);

    internal sealed record Board(int Tick, Sensor Sensor7, Sensor Sensor29);

    private sealed class Probe : IAsyncDisposable
    {
        internal readonly CometClient Client;
        internal readonly ConcurrentQueue<int> Ticks = new();
        internal int Wrong;

        internal Probe(string url, string transport, bool delta)
        {
            Client = new CometClient(new Uri(url + "/conn"), new CometClientOptions
            {
                Transport = transport,
                Channels = ["board"],
                Delta = delta,
                RetryBase = TimeSpan.FromMilliseconds(200),
                RetryMax = TimeSpan.FromSeconds(2),
            });
            Client.On<Board>("board", (data, _) =>
            {
                // The whole state, rebuilt: a field far from the one that changes is intact too.
                if (data!.Sensor7.Name != "Sensor number 7" || data.Sensor29.Value != 34.5) Interlocked.Increment(ref Wrong);
                Ticks.Enqueue(data.Tick);
                return ValueTask.CompletedTask;
            });
        }

        internal void AssertInOrder(int count, string what)
        {
            CollectionAssert.AreEqual(Enumerable.Range(1, count).ToArray(), Ticks.ToArray(), what);
            Assert.AreEqual(0, Wrong, what);
        }

        public ValueTask DisposeAsync() => Client.DisposeAsync();
    }

    private static Task<CometTestServer> StartServerAsync(int heartbeat = 1000) =>
        CometTestServer.StartAsync(o => { o.Heartbeat = heartbeat; o.Timeout = 2000; o.MaxConnectionsPerClient = 0; },
            c => c.RegisterChannel("board", new ChannelOptions { Delta = true }));

    private async Task SendAsync(CometTestServer server, int from, int to, int delayMs)
    {
        for (var i = from; i <= to; i++)
        {
            server.Engine.SendToAll("board", State(i));
            await Task.Delay(delayMs, TestContext.CancellationToken);
        }
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    [DataRow("websocket")]
    [DataRow("stream")]
    [DataRow("sse")]
    [DataRow("lpool")]
    public async Task Every_work_style_gets_every_state_whole_with_far_fewer_bytes(string style)
    {
        long Bytes(CometTestServer s) => s.Engine.GetStatistics().BytesWritten;
        await using var server = await StartServerAsync();
        await using (var plain = new Probe(server.BaseUrl, style, delta: false))
        {
            await plain.Client.StartAsync(TestContext.CancellationToken);
            await SendAsync(server, 1, 40, 10);
            await Wait.UntilAsync(() => plain.Ticks.Count >= 40, 30, "40 plain states");
            plain.AssertInOrder(40, style + " without deltas");
        }
        var plainBytes = Bytes(server);
        await using var probe = new Probe(server.BaseUrl, style, delta: true);
        await probe.Client.StartAsync(TestContext.CancellationToken);
        var before = Bytes(server);
        for (var i = 1; i <= 40; i++) server.Engine.SendToAll("board", State(i));
        await Wait.UntilAsync(() => probe.Ticks.Count >= 40, 30, "40 states");
        probe.AssertInOrder(40, style);
        var deltaBytes = Bytes(server) - before;
        TestContext.WriteLine($"{style}: {plainBytes} bytes without deltas, {deltaBytes} with");
        Assert.IsLessThan(plainBytes / 5, deltaBytes, $"{style}: {plainBytes} bytes without deltas, {deltaBytes} with");
    }

    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    [DataRow("websocket")]
    [DataRow("stream")]
    [DataRow("sse")]
    [DataRow("lpool")]
    public async Task Through_a_proxy_that_cuts_every_state_arrives_whole_once_in_order(string style)
    {
        await using var server = await StartServerAsync(heartbeat: 500);
        await using var proxy = await ChaosProxy.StartAsync(new Uri(server.BaseUrl), seed: style.Length + 21);
        proxy.BlockWebSockets = false;
        proxy.CutRate = 0.15;
        proxy.ChunkCutRate = 0.05;
        await using var probe = new Probe(proxy.Url, style, delta: true);
        await probe.Client.StartAsync(TestContext.CancellationToken);
        await SendAsync(server, 1, 200, 10);
        await Wait.UntilAsync(() => probe.Ticks.Count >= 200, 60, "200 states");
        TestContext.WriteLine($"{style}: {probe.Ticks.Count} states; proxy: {proxy.Requests} requests, {proxy.Cuts} cuts");
        probe.AssertInOrder(200, style);
        Assert.IsGreaterThanOrEqualTo(2, proxy.Cuts, "the proxy must have cut answers");
    }
}
