using System.Net;
using System.Text;
using Comet4Net.Delivery;
using Comet4Net.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// Deltas on several nodes sharing Redis: every node gives each message the same base (the channel's
/// previous message in the shared log) and the same delta bytes, whichever node sent it; a client whose
/// requests land on a different node each time gets every state right.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class DeltaClusterTests
{
    private static RedisServer _redis = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static async Task StartRedisAsync(TestContext _) => _redis = await RedisServer.StartAsync();

    [ClassCleanup]
    public static async Task StopRedisAsync() => await _redis.DisposeAsync();

    private static async Task<List<CometTestServer>> StartNodesAsync(int count)
    {
        var prefix = "d" + Guid.NewGuid().ToString("N")[..8] + ":";
        var nodes = new List<CometTestServer>();
        for (var i = 0; i < count; i++)
        {
            nodes.Add(await CometTestServer.StartAsync(o => { o.Timeout = 1500; o.Heartbeat = 500; },
                c => c.RegisterChannel("board", new ChannelOptions { Delta = true }),
                services: s => s.AddRedis(_redis.Configuration, o => o.Prefix = prefix)));
        }
        return nodes;
    }

    private static JObject State(int tick)
    {
        var state = new JObject { ["tick"] = tick };
        for (var i = 0; i < 30; i++) state["sensor" + i] = new JObject { ["name"] = "Sensor number " + i, ["value"] = i };
        return state;
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task Every_node_makes_the_same_delta_against_the_same_base_and_a_client_moving_between_nodes_gets_every_state()
    {
        var nodes = await StartNodesAsync(3);
        await using var proxy = await ChaosProxy.StartAsync(new Uri(nodes[0].BaseUrl));
        proxy.Enabled = false;
        proxy.Targets = nodes.Select(n => new Uri(n.BaseUrl)).ToArray(); // each request on the next node
        using var http = new HttpClient { BaseAddress = new Uri(proxy.Url), Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            var conn = (JObject)JObject.Parse((await http.GetStringAsync("/conn?cmd=conn&cv=2.0.0&ws=lpool&delta=fossil")).Split('\n')[0])["data"]!;
            var start = (long)conn["seq"]!;
            var seqs = new List<long>();
            for (var i = 1; i <= 30; i++) seqs.Add(await nodes[i % 3].Engine.SendToAllAsync("board", State(i))); // from every node in turn
            await Wait.UntilAsync(() => nodes.All(n => n.Engine.Delivery.Log.LastSeq >= seqs[^1]), 10, "every node filed the 30");

            CometMessage At(CometTestServer n, long seq) => n.Engine.Delivery.Log.At(n.Engine.Delivery.Log.PositionAfter(seq - 1))!;
            for (var k = 1; k < seqs.Count; k++)
            {
                var forms = nodes.Select(n => At(n, seqs[k])).ToList();
                Assert.IsTrue(forms.All(m => m.Seq == seqs[k] && m.DeltaBaseSeq == seqs[k - 1]), $"message {k + 1}: the previous of the channel is the base on every node");
                var frames = forms.Select(m => Encoding.UTF8.GetString(m.DeltaForm!.V2Frame)).Distinct().ToList();
                Assert.HasCount(1, frames, "the same delta on every node");
            }

            // Long polls, each on the next node: every state arrives, rebuilt from whole frames and deltas.
            var ack = start;
            (long Seq, byte[] Text) basis = default;
            var ticks = new List<int>();
            var deltas = 0;
            while (ticks.Count < 30)
            {
                var body = await http.GetStringAsync($"/conn?cmd=revival&cid={conn["cId"]}&cs={conn["cs"]}&ack={ack}&ws=lpool&delta=fossil", TestContext.CancellationToken);
                foreach (var f in body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(JObject.Parse).Where(f => f["seq"] is not null))
                {
                    var data = (string)f["data"]!;
                    byte[] text;
                    if ((int)f["d"]! == 0) text = Encoding.UTF8.GetBytes(data);
                    else
                    {
                        deltas++;
                        Assert.AreEqual(basis.Seq, (long)f["b"]!);
                        text = FossilDelta.Apply(basis.Text, Encoding.Latin1.GetBytes(data));
                    }
                    basis = ((long)f["seq"]!, text);
                    ticks.Add((int)JObject.Parse(Encoding.UTF8.GetString(text))["tick"]!);
                    ack = (long)f["seq"]!;
                }
            }
            CollectionAssert.AreEqual(Enumerable.Range(1, 30).ToArray(), ticks.ToArray());
            Assert.IsGreaterThan(0, deltas, "a node serving a batch sends deltas within it");
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }
}
