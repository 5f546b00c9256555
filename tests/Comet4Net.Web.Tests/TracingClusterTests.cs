using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using Comet4Net.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Comet4Net.Web.Tests;

/// <summary>
/// Two nodes on one real Redis, as an operator with OpenTelemetry sees them: a request to node A that
/// sends is one trace with its delivery on node B; the backplane's instruments move.
/// </summary>
[TestClass]
[DoNotParallelize] // an ActivityListener hears every engine in the process
public sealed class TracingClusterTests
{
    private static RedisServer _redis = null!;

    [ClassInitialize]
    public static async Task StartRedisAsync(TestContext _) => _redis = await RedisServer.StartAsync();

    [ClassCleanup]
    public static async Task StopRedisAsync() => await _redis.DisposeAsync();

    /// <summary>Node A (with a /send endpoint that calls SendToAll) and node B, one Redis prefix.</summary>
    private static async Task<(CometTestServer A, CometTestServer B, string Prefix)> StartNodesAsync()
    {
        var prefix = "tr" + Guid.NewGuid().ToString("N")[..8] + ":";
        var a = await CometTestServer.StartAsync(o => o.Timeout = 5000,
            map: app => app.MapPost("/send", (HttpContext h) => Results.Text(
                h.RequestServices.GetRequiredService<CometEngine>().SendToAll("news", new { text = "traced" }).ToString())),
            services: s => s.AddRedis(_redis.Configuration, o => o.Prefix = prefix));
        var b = await CometTestServer.StartAsync(o => o.Timeout = 5000, services: s => s.AddRedis(_redis.Configuration, o => o.Prefix = prefix));
        return (a, b, prefix);
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_send_on_node_A_and_its_delivery_on_node_B_are_one_trace_with_its_parent_chain_intact()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is CometDiagnostics.ActivitySourceName or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var (a, b, _) = await StartNodesAsync();
        await using var nodeA = a;
        await using var nodeB = b;
        var client = new V2Client(b.Client);
        await client.ConnectAsync("lpool");

        // The caller's trace: the request to node A carries it (W3C traceparent), as a browser or a gateway would.
        var traceId = ActivityTraceId.CreateRandom();
        var callerSpan = ActivitySpanId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/send");
        request.Headers.Add("traceparent", $"00-{traceId}-{callerSpan}-01");
        using var sent = await a.Client.SendAsync(request);
        Assert.AreEqual(HttpStatusCode.OK, sent.StatusCode);

        var frames = new List<Newtonsoft.Json.Linq.JObject>();
        while (!frames.Exists(f => (string?)f["channel"] == "news"))
        {
            var (status, got) = await client.PollAsync();
            Assert.AreEqual(HttpStatusCode.OK, status);
            frames.AddRange(got);
        }
        var seq = (long)frames.Single(f => (string?)f["channel"] == "news")["seq"]!;

        List<Activity> Trace() => spans.Where(s => s.TraceId == traceId).ToList();
        await Wait.UntilAsync(() => Trace().Exists(s => s.OperationName == CometDiagnostics.DeliverSpan), 10, "the delivery span on node B");
        var trace = Trace();
        var send = trace.Single(s => s.OperationName == CometDiagnostics.SendSpan);
        Assert.AreEqual("news", send.GetTagItem("messaging.destination.name"));
        var http = trace.Single(s => s.SpanId == send.ParentSpanId);
        Assert.AreEqual("Microsoft.AspNetCore", http.Source.Name, "the send is a child of node A's request span");
        Assert.AreEqual(callerSpan, http.ParentSpanId, "which is a child of the caller's");

        var receives = trace.Where(s => s.OperationName == CometDiagnostics.ReceiveSpan).ToList();
        Assert.AreEqual(2, receives.Count, "one arrival on each node: " + string.Join(", ", receives.Select(r => r.GetTagItem("comet.node"))));
        Assert.IsTrue(receives.All(r => r.ParentSpanId == send.SpanId && Equals(r.GetTagItem("comet.seq"), seq)), "both children of the send, with its number");
        var onB = receives.Single(r => Equals(r.GetTagItem("comet.node"), b.Engine.NodeId));
        Assert.IsTrue(receives.Exists(r => Equals(r.GetTagItem("comet.node"), a.Engine.NodeId)));

        var deliver = trace.Single(s => s.OperationName == CometDiagnostics.DeliverSpan);
        Assert.AreEqual(client.Id, deliver.GetTagItem("comet.connection.id"));
        Assert.AreEqual(onB.SpanId, deliver.ParentSpanId, "the delivery to B's client is a child of the message's arrival on B");
        Assert.AreEqual(seq, deliver.GetTagItem("comet.seq"));
    }

    [TestMethod]
    public void The_streams_trace_fields_are_optional_both_ways()
    {
        // An entry written before trace context was carried (or by a node with no activity current) reads as untraced.
        var old = Comet4Net.Redis.Internal.MessageCodec.Decode("""{"C":"news","D":"1","T":5,"Ids":null,"E":null,"F":null,"U":null,"O":null}""");
        Assert.AreEqual("news", old.Channel);
        Assert.IsNull(old.TraceParent);
        Assert.IsNull(old.TraceState);
        var untraced = Comet4Net.Redis.Internal.MessageCodec.Encode(new Delivery.OutgoingMessage("news", "1", 5));
        Assert.DoesNotContain("Tp", untraced, "nothing is written for a send that was not traced");

        var parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var traced = Comet4Net.Redis.Internal.MessageCodec.Decode(
            Comet4Net.Redis.Internal.MessageCodec.Encode(new Delivery.OutgoingMessage("news", "1", 5, TraceParent: parent, TraceState: "k=v")));
        Assert.AreEqual(parent, traced.TraceParent);
        Assert.AreEqual("k=v", traced.TraceState);
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task Appends_are_timed_and_a_node_behind_the_shared_log_shows_its_lag()
    {
        var (a, b, prefix) = await StartNodesAsync();
        await using var nodeA = a;
        await using var nodeB = b;
        var durations = new ConcurrentQueue<double>();
        var lag = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, a.Engine.Metrics.Meter) && instrument.Name == "comet.backplane.append.duration"
                || ReferenceEquals(instrument.Meter, b.Engine.Metrics.Meter) && instrument.Name == "comet.backplane.lag")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((_, v, _, _) => durations.Enqueue(v));
        listener.SetMeasurementEventCallback<long>((i, v, _, _) => lag[i.Name] = v);
        listener.Start();

        var seq = await a.Engine.SendToAllAsync("news", 1);
        Assert.IsGreaterThan(0L, seq);
        Assert.IsFalse(durations.IsEmpty, "the append's round trip was recorded when SendToAllAsync completed");
        Assert.IsTrue(durations.All(d => d is > 0 and < 30), string.Join(", ", durations));

        await Wait.UntilAsync(() => b.Engine.Backplane.Log.LastSequence >= seq, 10, "node B to file the message");
        listener.RecordObservableInstruments();
        Assert.AreEqual(0, lag["comet.backplane.lag"], "caught up");

        // A wake-up says the stream reached a number node B has not filed (as when its reads fall behind).
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration))
            await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(prefix + "wake"), $"{seq + 50}-0 elsewhere");
        await Wait.UntilAsync(() =>
        {
            listener.RecordObservableInstruments();
            return lag["comet.backplane.lag"] == 50;
        }, 10, "node B's lag to show the 50 numbers it has not filed");
    }
}
