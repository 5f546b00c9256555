using Comet4Net.Delivery;
using Comet4Net.Events;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Core.Tests;

/// <summary>Publishing once: the window of idempotency keys (expiry, most entries), the scopes, and the engine's answers.</summary>
[TestClass]
public sealed class IdempotencyTests
{
    private static (CometContext Context, ManualTime Time) Engine(int windowMs = 1000, int maxKeys = 100)
    {
        var time = new ManualTime();
        var context = new CometContext(new CometOptions { IdempotencyWindow = windowMs, MaxIdempotencyKeys = maxKeys }, time);
        context.RegisterChannel("room", new ChannelOptions { AllowPublish = true });
        context.RegisterChannel("news");
        return (context, time);
    }

    private static List<string> Data(CometEngine engine, CometConnection c) =>
        TestSupport.Read(engine, c, 0).Messages.Select(m => m.DataJson).ToList();

    [TestMethod]
    public void A_key_is_held_for_the_window_and_then_free_again()
    {
        var now = 0L;
        var window = new IdempotencyWindow(() => now, 1000, 10);
        Assert.IsTrue(window.TryTake("a", out var first));
        window.Complete(first, 41);
        now = 999;
        Assert.IsFalse(window.TryTake("a", out var held), "within the window");
        Assert.AreEqual(41, held.Seq.Task.Result);
        now = 1000;
        Assert.IsTrue(window.TryTake("a", out _), "the window passed: the key is free");
        Assert.AreEqual(1, window.Count, "the expired entry went");
    }

    [TestMethod]
    public void Past_the_most_entries_the_oldest_keys_go_first_and_are_counted()
    {
        var window = new IdempotencyWindow(() => 0, 60000, 3);
        foreach (var key in new[] { "a", "b", "c", "d", "e" })
        {
            Assert.IsTrue(window.TryTake(key, out var e));
            window.Complete(e, 1);
        }
        Assert.AreEqual(3, window.Count);
        Assert.AreEqual(2, window.Evicted);
        Assert.IsTrue(window.TryTake("a", out var again), "a went first");
        Assert.AreEqual(3, window.Count, "taking a let c go: the bound holds");
        window.Release(again);
        Assert.IsFalse(window.TryTake("e", out _), "the newest stay");
        Assert.AreEqual(2, window.Count, "a released key leaves no entry");
    }

    [TestMethod]
    public void A_refused_or_unnumbered_publish_frees_its_key_for_whoever_waits()
    {
        var window = new IdempotencyWindow(() => 0, 60000, 10);
        Assert.IsTrue(window.TryTake("k", out var first));
        Assert.IsFalse(window.TryTake("k", out var waiting));
        window.Complete(first, 0);
        Assert.AreEqual(0, waiting.Seq.Task.Result, "the waiter hears it was not appended");
        Assert.IsTrue(window.TryTake("k", out _), "and may take the key");
    }

    [TestMethod]
    public async Task A_repeated_client_publish_is_appended_once_and_answered_with_the_first_number()
    {
        var (context, time) = Engine();
        var engine = context.Engine;
        var listenerCalls = 0;
        engine.On<BeforePublishEvent>(_ => listenerCalls++);
        var sender = TestSupport.Connect(engine);
        var reader = TestSupport.Connect(engine);

        var first = await engine.Host.PublishOnceAsync(sender, "room", null, new JValue("hi"), "k1");
        var again = await engine.Host.PublishOnceAsync(sender, "room", null, new JValue("hi"), "k1");
        Assert.AreEqual(CometOutcome.Ok, again.Outcome);
        Assert.IsFalse(first.Duplicate);
        Assert.IsTrue(again.Duplicate);
        Assert.AreEqual(first.Seq, again.Seq);
        Assert.AreEqual(1, listenerCalls, "a repeat does not ask the listeners again");
        CollectionAssert.AreEqual(new[] { "\"hi\"" }, Data(engine, reader));

        time.Advance(TimeSpan.FromMilliseconds(1000));
        var late = await engine.Host.PublishOnceAsync(sender, "room", null, new JValue("hi"), "k1");
        Assert.IsFalse(late.Duplicate, "past the window the key is new");
        Assert.IsGreaterThan(first.Seq, late.Seq);
    }

    [TestMethod]
    public async Task Keys_are_scoped_by_sender_and_channel_so_one_client_cannot_take_another_clients_key()
    {
        var (context, _) = Engine();
        context.RegisterChannel("other", new ChannelOptions { AllowPublish = true });
        var engine = context.Engine;
        var a = TestSupport.Connect(engine);
        var b = TestSupport.Connect(engine);
        var s1 = await engine.Host.PublishOnceAsync(a, "room", null, new JValue(1), "same");
        var s2 = await engine.Host.PublishOnceAsync(b, "room", null, new JValue(2), "same");
        var s3 = await engine.Host.PublishOnceAsync(a, "other", null, new JValue(3), "same");
        var s4 = engine.SendToAll("room", null, 4, "same");
        Assert.IsFalse(s2.Duplicate || s3.Duplicate);
        Assert.AreEqual(4, new[] { s1.Seq, s2.Seq, s3.Seq, s4 }.Distinct().Count());

        // Two connections of one user share the user's scope (a page that connected anew keeps its keys).
        a.UserId = "ann";
        b.UserId = "ann";
        var u1 = await engine.Host.PublishOnceAsync(a, "room", null, new JValue(5), "u");
        var u2 = await engine.Host.PublishOnceAsync(b, "room", null, new JValue(5), "u");
        Assert.IsTrue(u2.Duplicate);
        Assert.AreEqual(u1.Seq, u2.Seq);
    }

    [TestMethod]
    public async Task A_refused_publish_does_not_take_its_key()
    {
        var (context, _) = Engine();
        var engine = context.Engine;
        var refuse = true;
        engine.On<BeforePublishEvent>(e => { if (refuse) e.Refuse("no"); });
        var c = TestSupport.Connect(engine);
        Assert.AreEqual(CometOutcome.Refused, (await engine.Host.PublishOnceAsync(c, "room", null, new JValue(1), "k")).Outcome);
        refuse = false;
        var ok = await engine.Host.PublishOnceAsync(c, "room", null, new JValue(1), "k");
        Assert.AreEqual(CometOutcome.Ok, ok.Outcome);
        Assert.IsFalse(ok.Duplicate);
        Assert.AreEqual(CometOutcome.NotAllowed, (await engine.Host.PublishOnceAsync(c, "news", null, new JValue(1), "k")).Outcome);
    }

    [TestMethod]
    public async Task The_servers_SendToAll_with_a_key_sends_once_and_checks_the_key()
    {
        var (context, _) = Engine(maxKeys: 2);
        var engine = context.Engine;
        var c = TestSupport.Connect(engine);
        var seq = engine.SendToAll("news", null, "x", "order-17");
        Assert.AreEqual(seq, engine.SendToAll("news", null, "x", "order-17"));
        Assert.AreEqual(seq, await engine.SendToAllAsync("news", null, "x", "order-17"));
        Assert.IsGreaterThan(seq, engine.SendToAll("news", null, "y", null), "no key: an ordinary send");
        Assert.HasCount(2, Data(engine, c));
        Assert.ThrowsExactly<ArgumentException>(() => engine.SendToAll("news", null, "x", "bad key"));
        Assert.ThrowsExactly<ArgumentException>(() => engine.SendToAll("news", null, "x", new string('k', 65)));
        for (var i = 0; i < 10; i++) engine.SendToAll("news", null, i, "k" + i);
        Assert.AreEqual(2, engine.Once.Count, "bounded by MaxIdempotencyKeys");
    }

    [TestMethod]
    public void The_window_and_the_most_keys_are_checked_at_startup()
    {
        Assert.AreEqual("IdempotencyWindow", Assert.ThrowsExactly<CometConfigurationException>(() => new CometOptions { IdempotencyWindow = 0 }.Validate()).Key);
        Assert.AreEqual("MaxIdempotencyKeys", Assert.ThrowsExactly<CometConfigurationException>(() => new CometOptions { MaxIdempotencyKeys = -1 }.Validate()).Key);
    }
}
