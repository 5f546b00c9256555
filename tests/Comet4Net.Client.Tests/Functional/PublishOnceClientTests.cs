using System.Collections.Concurrent;
using Comet4Net.Tests.Shared;
using Comet4Net.Web.Tests;

namespace Comet4Net.Client.Tests.Functional;

/// <summary>
/// The .NET client's PublishAsync is exactly once: through a proxy that lets the server append a publish and
/// then cuts its answer (often), every message is appended once and a subscriber sees each once, in order per sender.
/// </summary>
[TestClass]
public sealed class PublishOnceClientTests
{
    public TestContext TestContext { get; set; } = null!;

    private sealed record Said(int P, int I);

    [TestMethod]
    [Timeout(90_000, CooperativeCancellation = true)]
    public async Task Publishes_whose_answers_are_cut_arrive_exactly_once_in_order_per_sender()
    {
        const int senders = 3, each = 100;
        await using var server = await CometTestServer.StartAsync(o => { o.Heartbeat = 500; o.Timeout = 2000; o.MaxConnectionsPerClient = 0; },
            c => c.RegisterChannel("room", new ChannelOptions { AllowPublish = true }));
        await using var proxy = await ChaosProxy.StartAsync(new Uri(server.BaseUrl), seed: 21);
        proxy.BlockWebSockets = false;
        proxy.CutRate = 0.05;
        proxy.DelayRate = 0.1;
        proxy.PubCutRate = 0.3;

        // The subscriber connects directly: what it sees is what the server appended.
        var seen = new ConcurrentQueue<Said>();
        await using var subscriber = new CometClient(new Uri(server.BaseUrl + "/conn"), new CometClientOptions { Channels = ["room"] });
        subscriber.On<Said>("room", (s, _) =>
        {
            seen.Enqueue(s!);
            return ValueTask.CompletedTask;
        });
        await subscriber.StartAsync(TestContext.CancellationToken);

        var started = DateTime.UtcNow;
        var duplicates = 0;
        var clients = Enumerable.Range(0, senders).Select(p => new CometClient(new Uri(proxy.Url + "/conn"), new CometClientOptions
        {
            Transport = p == 0 ? "websocket" : p == 1 ? "stream" : "lpool",
            Channels = [],
            RetryBase = TimeSpan.FromMilliseconds(100),
            RetryMax = TimeSpan.FromSeconds(1),
        })).ToList();
        try
        {
            await Task.WhenAll(clients.Select(async (client, p) =>
            {
                await client.StartAsync(TestContext.CancellationToken);
                for (var i = 0; i < each; i++)
                {
                    var result = await client.PublishAsync("room", new Said(p, i), null, TestContext.CancellationToken);
                    Assert.IsGreaterThan(0L, result.Seq);
                    if (result.Duplicate) Interlocked.Increment(ref duplicates);
                }
            }));
            await Wait.UntilAsync(() => seen.Count >= senders * each, 30, $"{senders * each} messages");
            await Task.Delay(300, TestContext.CancellationToken); // a duplicate would come within it
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
        }

        var all = seen.ToArray();
        TestContext.WriteLine($"{all.Length} seen of {senders * each} published in {(DateTime.UtcNow - started).TotalSeconds:F1} s; " +
                              $"proxy: {proxy.PubCuts} publish answers cut, {proxy.Cuts} other cuts; {duplicates} answered as repeats");
        for (var p = 0; p < senders; p++)
            CollectionAssert.AreEqual(Enumerable.Range(0, each).ToArray(), all.Where(s => s.P == p).Select(s => s.I).ToArray(), $"sender {p}: once each, in order");
        Assert.HasCount(senders * each, all);
        Assert.IsGreaterThanOrEqualTo(20, proxy.PubCuts, "the proxy must have cut many publish answers");
        Assert.IsGreaterThanOrEqualTo(1, duplicates, "some publishes were answered as repeats (appended before their answer was cut)");
    }
}
