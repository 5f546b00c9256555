using System.Collections.Concurrent;
using System.Diagnostics;
using Comet4Net.Diagnostics;
using Comet4Net.Events;

namespace Comet4Net.Core.Tests;

/// <summary>What an operator who listens to the "Comet4Net" ActivitySource sees.</summary>
[TestClass]
[DoNotParallelize] // an ActivityListener hears every engine in the process
public sealed class TracingTests
{
    /// <summary>Records every span of the Comet4Net source that stops while it is alive.</summary>
    internal sealed class SpanRecorder : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<Activity> _spans = new();

        internal SpanRecorder()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name == CometDiagnostics.ActivitySourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = _spans.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        internal IReadOnlyList<Activity> Named(string name) => _spans.Where(a => a.OperationName == name).ToList();

        internal Activity One(string name, string tag, object? value)
        {
            var found = _spans.Where(a => a.OperationName == name && Equals(a.GetTagItem(tag), value)).ToList();
            Assert.AreEqual(1, found.Count, $"one {name} span with {tag}={value}; spans: {string.Join(", ", _spans.Select(s => s.OperationName))}");
            return found[0];
        }

        public void Dispose() => _listener.Dispose();
    }

    [TestMethod]
    public void A_broadcast_is_one_trace_from_the_callers_request_to_its_delivery()
    {
        using var spans = new SpanRecorder();
        var engine = new CometContext().Engine;
        var c = TestSupport.Connect(engine);
        using var source = new ActivitySource("app");
        using var appListener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "app",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(appListener);

        long seq;
        ActivityContext request;
        using (var app = source.StartActivity("POST /news"))
        {
            request = app!.Context;
            seq = engine.SendToAll("news", new { text = "hi" });
            Assert.AreSame(app, Activity.Current, "the caller's activity is current again once SendToAll returned");
            Assert.HasCount(1, TestSupport.Read(engine, c, 0).Messages);
            Assert.AreSame(app, Activity.Current, "and once a delivery was taken under it");
        }
        Assert.IsNull(Activity.Current);

        var send = spans.One(CometDiagnostics.SendSpan, "messaging.destination.name", "news");
        Assert.AreEqual(ActivityKind.Producer, send.Kind);
        Assert.AreEqual(seq, send.GetTagItem("comet.seq"));
        Assert.AreEqual("broadcast", send.GetTagItem("comet.send.kind"));
        Assert.AreEqual(request.SpanId, send.ParentSpanId, "the send is a child of the caller's span");

        var receive = spans.One(CometDiagnostics.ReceiveSpan, "comet.seq", seq);
        Assert.AreEqual(ActivityKind.Consumer, receive.Kind);
        Assert.AreEqual(send.SpanId, receive.ParentSpanId, "the arrival on the node is a child of the send");
        Assert.AreEqual(engine.NodeId, receive.GetTagItem("comet.node"));

        var deliver = spans.One(CometDiagnostics.DeliverSpan, "comet.connection.id", c.Id);
        Assert.AreEqual(receive.SpanId, deliver.ParentSpanId, "the delivery is a child of the arrival");
        Assert.AreEqual(1, deliver.GetTagItem("messaging.batch.message_count"));
        Assert.AreEqual(seq, deliver.GetTagItem("comet.seq"));
        foreach (var span in new[] { send, receive, deliver }) Assert.AreEqual(request.TraceId, span.TraceId);
    }

    [TestMethod]
    public async Task Every_kind_of_send_has_a_span_with_its_channel_and_number()
    {
        using var spans = new SpanRecorder();
        var engine = new CometContext().Engine;
        var c = TestSupport.Connect(engine);
        var seqs = new List<long>
        {
            engine.SendToAll("a1", 1),
            await engine.SendToAllAsync("a2", 2),
        };
        Assert.IsTrue(engine.SendTo("a3", c, 3));
        Assert.IsTrue(await engine.SendToAsync("a4", c, 4));
        Assert.IsTrue(engine.SendTo("a5", c.Id, 5));
        Assert.IsTrue(await engine.SendToAsync("a6", c.Id, 6));
        engine.SendToUser("u1", "a7", 7);
        await engine.SendToUserAsync("u1", "a8", 8);

        var expected = new[] { ("a1", "broadcast"), ("a2", "broadcast"), ("a3", "connections"), ("a4", "connections"), ("a5", "connections"),
            ("a6", "connections"), ("a7", "user"), ("a8", "user") };
        long last = 0;
        foreach (var (channel, kind) in expected)
        {
            var send = spans.One(CometDiagnostics.SendSpan, "messaging.destination.name", channel);
            Assert.AreEqual(kind, send.GetTagItem("comet.send.kind"), channel);
            var seq = (long)send.GetTagItem("comet.seq")!;
            Assert.IsTrue(seq > last, $"{channel}: numbered in order ({seq} after {last})");
            last = seq;
            Assert.AreEqual(send.SpanId, spans.One(CometDiagnostics.ReceiveSpan, "comet.seq", seq).ParentSpanId, channel);
        }
        CollectionAssert.AreEqual(seqs, new[] { (long)spans.One(CometDiagnostics.SendSpan, "messaging.destination.name", "a1").GetTagItem("comet.seq")!,
            (long)spans.One(CometDiagnostics.SendSpan, "messaging.destination.name", "a2").GetTagItem("comet.seq")! });
    }

    [TestMethod]
    public void A_client_publish_has_a_send_span_tagged_with_its_connection()
    {
        using var spans = new SpanRecorder();
        var context = new CometContext();
        context.RegisterChannel("chat", new ChannelOptions { AllowPublish = true });
        var c = TestSupport.Connect(context.Engine);
        var result = context.Engine.Host.Publish(c, "chat", null, Newtonsoft.Json.Linq.JToken.FromObject("hello"));
        Assert.AreEqual(CometOutcome.Ok, result.Outcome);
        var send = spans.One(CometDiagnostics.SendSpan, "messaging.destination.name", "chat");
        Assert.AreEqual("publish", send.GetTagItem("comet.send.kind"));
        Assert.AreEqual(c.Id, send.GetTagItem("comet.connection.id"));
        Assert.AreEqual(result.Seq, send.GetTagItem("comet.seq"));
    }

    [TestMethod]
    public async Task Connect_resume_gap_kick_and_drop_are_spans_with_what_happened()
    {
        using var spans = new SpanRecorder();
        var time = new ManualTime();
        var engine = new CometContext(new CometOptions { ConnExpires = 5000, MaxPendingMessages = 2 }, time).Engine;
        var c = TestSupport.Connect(engine);
        Assert.AreEqual("stream", spans.One(CometDiagnostics.ConnectSpan, "comet.connection.id", c.Id).GetTagItem("comet.work_style"));

        time.Advance(TimeSpan.FromMilliseconds(6000));
        Assert.AreEqual(1, engine.ExpireConnections());
        Assert.AreEqual("expired", spans.One(CometDiagnostics.DropSpan, "comet.connection.id", c.Id).GetTagItem("comet.drop.reason"));
        engine.SendToAll("news", 1);
        for (var i = 0; i < 3; i++) Assert.IsTrue(engine.SendTo("p", c.Id, i), "kept for the away session");
        var resumed = (await engine.ResumeAsync(c.Id, c.Secret, TestSupport.Request(), null, 0)).Connection;
        Assert.IsNotNull(resumed);
        var resume = spans.One(CometDiagnostics.ResumeSpan, "comet.connection.id", c.Id);
        Assert.AreEqual(3, resume.GetTagItem("comet.resume.messages"), "the broadcast and the two private messages that fit in the queue");
        Assert.AreEqual(false, resume.GetTagItem("comet.resume.handover"));
        Assert.AreEqual("gap", spans.One(CometDiagnostics.OverflowSpan, "comet.connection.id", c.Id).GetTagItem("comet.overflow.policy"));

        var (_, gap) = TestSupport.Read(engine, resumed, 0);
        Assert.IsNotNull(gap);
        var gapSpan = spans.One(CometDiagnostics.GapSpan, "comet.connection.id", c.Id);
        Assert.AreEqual(gap.Value.From, gapSpan.GetTagItem("comet.gap.from"));
        Assert.AreEqual(gap.Value.To, gapSpan.GetTagItem("comet.gap.to"));

        Assert.IsTrue(engine.Kick(resumed, "behave"));
        var kick = spans.Named(CometDiagnostics.DropSpan).Single(s => Equals(s.GetTagItem("comet.drop.reason"), "server"));
        Assert.AreEqual("behave", kick.GetTagItem("comet.drop.message"));
    }

    [TestMethod]
    public void With_nothing_listening_a_send_makes_no_span_and_carries_no_context()
    {
        Assert.IsFalse(CometDiagnostics.Source.HasListeners(), "no other test listens now");
        var engine = new CometContext().Engine;
        var c = TestSupport.Connect(engine);
        engine.SendToAll("quiet", 1);
        var (messages, _) = TestSupport.Read(engine, c, 0);
        Assert.IsNull(messages.Single().Trace, "no activity was current: the message carries no trace context");

        // The calls on the hot path return at once and allocate nothing.
        var batch = new List<Delivery.CometMessage>(messages);
        Calls(); // once first: a static lambda's delegate is made at its first use
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++) Calls();
        Assert.AreEqual(0, GC.GetAllocatedBytesForCurrentThread() - before, "bytes allocated by the tracing calls with nothing listening");

        void Calls()
        {
            using var span = CometTracing.StartSend("broadcast", "quiet");
            CometTracing.Numbered(span, 1);
            CometTracing.Received(CometTracing.StartReceive(messages[0], engine.NodeId, out var previous), previous);
            CometTracing.Delivered(c, batch, 0);
            CometTracing.Event(CometDiagnostics.GapSpan, c, 1, static (s, v) => s.SetTag("v", v));
            _ = CometTracing.CurrentContext();
        }
    }
}
