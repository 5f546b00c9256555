using System.Text.Json;
using Comet4Net.Tests.Shared;
using Comet4Net.Web.Tests;
using Microsoft.Extensions.DependencyInjection;

namespace Comet4Net.Client.Tests.Functional;

/// <summary>
/// Three nodes on one real Redis behind a round-robin proxy (no sticky sessions): two in this process and
/// the chat sample in a process of its own, killed (SIGKILL) while it serves the client.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class ClusterTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    [DataRow("lpool")]
    [DataRow("stream")]
    [DataRow("websocket")] // round robin sends the conn to node 2 and the upgrade (the second request) to the chat node
    public async Task A_node_killed_while_it_serves_the_client_loses_nothing(string style)
    {
        if (!RedisServer.IsAvailable) Assert.Inconclusive(RedisServer.ServerPath + " is missing (test.sh installs redis-server)");
        var cancel = TestContext.CancellationToken;
        await using var redis = await RedisServer.StartAsync();
        var prefix = "c" + Guid.NewGuid().ToString("N")[..8] + ":";
        var nodes = new List<CometTestServer>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                nodes.Add(await CometTestServer.StartAsync(o => { o.Timeout = 1500; o.Heartbeat = 500; },
                    c => c.RegisterChannel("talker", new ChannelOptions { Presence = true }),
                    services: s => s.AddRedis(redis.Configuration, o => o.Prefix = prefix)));
            }
            await using var victim = await NodeProcess.StartChatAsync(new Dictionary<string, string>
            {
                ["Comet__Redis"] = redis.Configuration,
                ["Comet__RedisPrefix"] = prefix,
                ["Comet__Timeout"] = "1500",
                ["Comet__Heartbeat"] = "500",
            }, TimeSpan.FromSeconds(60));
            var victimUri = new Uri(victim.BaseUrl);
            await using var proxy = await ChaosProxy.StartAsync(new Uri(nodes[0].BaseUrl));
            proxy.Enabled = false;
            proxy.BlockWebSockets = false;
            proxy.FailTimeout = TimeSpan.FromSeconds(10);
            proxy.Targets = [new Uri(nodes[0].BaseUrl), new Uri(nodes[1].BaseUrl), victimUri];

            await using var client = new CometClient(new Uri(proxy.Url + "/conn"), new CometClientOptions
            {
                Transport = style,
                RetryBase = TimeSpan.FromMilliseconds(200),
                RetryMax = TimeSpan.FromSeconds(2),
            });
            var received = new Received();
            var gaps = new List<CometGapEventArgs>();
            client.Gap += (_, e) => { lock (gaps) gaps.Add(e); };
            var reading = Task.Run(async () =>
            {
                await foreach (var m in client.ReadAllAsync(cancel))
                    if (m.Channel == "talker" && m.Event is null && m.Data.ValueKind == JsonValueKind.Number) received.Add(m.Data.GetInt32());
            }, cancel);
            await client.StartAsync(cancel);
            var cid = client.ConnectionId!;

            const int Messages = 150;
            for (var i = 1; i <= Messages; i++)
            {
                if (i == 50)
                {
                    await Wait.UntilAsync(() => received.Count >= 40, 20, "messages before the kill");
                    await Wait.UntilAsync(() => proxy.HeldOn(victimUri).Contains(cid), 20, "a request of the client on the chat node");
                    victim.Kill();
                }
                var engine = nodes[i % 2].Engine;
                // Awaited: sends from two nodes are numbered in the order they are made only when each
                // is numbered before the next is made (a synchronous send queues and returns at once).
                if (i % 4 == 0) Assert.IsTrue(await engine.SendToAsync("talker", cid, i), "any node reaches the connection: " + i);
                else await engine.SendToAllAsync("talker", i);
                await Task.Delay(20, cancel);
            }
            await Wait.UntilAsync(() => received.Count >= Messages, 30, "every message");
            await Task.Delay(500, cancel);
            TestContext.WriteLine($"{style}: {received.Summary(Messages)}; proxy passed {proxy.PassedOn} requests on, {proxy.Refusals} refusals; gaps {gaps.Count}");
            received.AssertExactlyOnceInOrder(Messages, style);
            Assert.IsEmpty(gaps);
            Assert.AreEqual(cid, client.ConnectionId, "the session outlived its node");
            await client.StopAsync(cancel);
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }
}
