using Comet4Net.Backplane;
using Comet4Net.Delivery;
using Comet4Net.Events;

namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class DeliveryTests
{
    [TestMethod]
    public void Broadcasts_and_private_messages_arrive_merged_in_send_order()
    {
        var engine = new CometContext().Engine;
        var a = TestSupport.Connect(engine);
        var b = TestSupport.Connect(engine);
        engine.SendToAll("news", 1);
        engine.SendTo("news", a, 2);
        engine.SendToAll("news", 3);
        engine.SendTo("news", b.Id, 4);
        engine.SendTo("news", new[] { a, b }, 5);

        var (forA, _) = TestSupport.Read(engine, a, 0);
        var (forB, _) = TestSupport.Read(engine, b, 0);
        CollectionAssert.AreEqual(new[] { "1", "2", "3", "5" }, forA.Select(m => m.DataJson).ToArray());
        CollectionAssert.AreEqual(new[] { "1", "3", "4", "5" }, forB.Select(m => m.DataJson).ToArray());
        var seqs = forA.Select(m => m.Seq).ToArray();
        CollectionAssert.AreEqual(seqs.OrderBy(s => s).ToArray(), seqs);
        Assert.AreSame(forA[^1], forB[^1]); // one message for the list, stored once
    }

    [TestMethod]
    public void A_connection_receives_nothing_sent_before_it_connected()
    {
        var engine = new CometContext().Engine;
        engine.SendToAll("news", "old");
        var c = TestSupport.Connect(engine);
        engine.SendToAll("news", "new");
        var (messages, gap) = TestSupport.Read(engine, c, 0);
        Assert.IsNull(gap);
        Assert.HasCount(1, messages);
        Assert.AreEqual("\"new\"", messages[0].DataJson);
    }

    [TestMethod]
    public void Reading_after_an_ack_resends_exactly_what_follows_it()
    {
        var engine = new CometContext().Engine;
        var c = TestSupport.Connect(engine);
        var seqs = new List<long>();
        for (var i = 0; i < 10; i++)
        {
            seqs.Add(engine.SendToAll("n", i));
            engine.SendTo("p", c, i);
        }
        var all = TestSupport.Read(engine, c, 0).Messages;
        Assert.HasCount(20, all);
        var ack = all[9].Seq;
        c.Pending.RemoveThrough(ack);
        var rest = TestSupport.Read(engine, c, ack).Messages;
        CollectionAssert.AreEqual(all.Skip(10).ToArray(), rest.ToArray());
    }

    [TestMethod]
    public void Reading_broadcasts_for_a_connection_that_named_no_channel_allocates_nothing()
    {
        // Such a connection is asked, for every message, whether it may receive the channel (private
        // channels, policies, subscribe listeners): that check runs once per message and connection.
        var engine = new CometContext().Engine;
        var c = TestSupport.Connect(engine);
        Assert.IsNull(c.Subscriptions, "the connection named no channel");
        for (var i = 0; i < 50; i++) engine.SendToAll("n", i);
        var batch = new List<Comet4Net.Delivery.CometMessage>(64);
        Read(); // once first: the connection's per-channel answers are made at its first message
        Assert.HasCount(50, batch);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++) Read();
        Assert.AreEqual(0, GC.GetAllocatedBytesForCurrentThread() - before, "bytes allocated by 100 reads of 50 broadcasts");
        Assert.HasCount(50, batch);

        void Read()
        {
            var cursor = engine.CursorAfter(c, 0);
            batch.Clear();
            engine.Collect(c, ref cursor, batch, 100);
        }
    }

    [TestMethod]
    public void A_cursor_moves_past_what_it_took_and_respects_the_batch_size()
    {
        var engine = new CometContext().Engine;
        var c = TestSupport.Connect(engine);
        for (var i = 0; i < 5; i++) engine.SendToAll("n", i);
        var cursor = engine.CursorAfter(c, 0);
        var batch = new List<Comet4Net.Delivery.CometMessage>();
        engine.Collect(c, ref cursor, batch, 2);
        Assert.HasCount(2, batch);
        batch.Clear();
        engine.Collect(c, ref cursor, batch, 100);
        CollectionAssert.AreEqual(new[] { "2", "3", "4" }, batch.Select(m => m.DataJson).ToArray());
        batch.Clear();
        engine.Collect(c, ref cursor, batch, 100);
        Assert.IsEmpty(batch);
    }

    [TestMethod]
    public void Messages_older_than_CacheExpires_are_trimmed_and_a_late_reader_gets_a_gap()
    {
        var time = new ManualTime();
        var engine = new CometContext(new CometOptions { CacheExpires = 1000 }, time).Engine;
        var c = TestSupport.Connect(engine);
        var first = engine.SendToAll("n", "a");
        engine.SendToAll("n", "b");
        time.Advance(TimeSpan.FromMilliseconds(1500));
        var kept = engine.SendToAll("n", "c");
        Assert.AreEqual(2, engine.TrimCache());

        var (messages, gap) = TestSupport.Read(engine, c, 0);
        Assert.IsNotNull(gap);
        Assert.AreEqual(first, gap.Value.From);
        Assert.AreEqual(first + 1, gap.Value.To);
        Assert.HasCount(1, messages);
        Assert.AreEqual(kept, messages[0].Seq);

        // A reader that already had everything trimmed sees no gap.
        var (_, none) = TestSupport.Read(engine, c, first + 1);
        Assert.IsNull(none);
        Assert.IsGreaterThan(0, engine.GetStatistics().Gaps);
    }

    [TestMethod]
    public void The_log_is_bounded_by_count()
    {
        var engine = new CometContext(new CometOptions { MaxLogMessages = 100 }).Engine;
        var c = TestSupport.Connect(engine);
        for (var i = 0; i < 5000; i++) engine.SendToAll("n", i);
        var stats = engine.GetStatistics();
        Assert.AreEqual(100, stats.LogMessages);
        Assert.AreEqual(4900, stats.LogTrimmed);
        var (messages, gap) = TestSupport.Read(engine, c, 0, 10000);
        Assert.IsNotNull(gap);
        Assert.HasCount(100, messages);
        Assert.AreEqual("4999", messages[^1].DataJson);
    }

    [TestMethod]
    public void Private_messages_past_the_per_connection_limit_are_dropped_and_reported_as_a_gap()
    {
        var engine = new CometContext(new CometOptions { MaxPendingMessages = 3 }).Engine;
        var c = TestSupport.Connect(engine);
        for (var i = 0; i < 5; i++) engine.SendTo("p", c, i);
        var (messages, gap) = TestSupport.Read(engine, c, 0);
        Assert.IsNotNull(gap);
        CollectionAssert.AreEqual(new[] { "2", "3", "4" }, messages.Select(m => m.DataJson).ToArray());
        Assert.AreEqual(2, engine.GetStatistics().PendingDropped);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task An_overflow_from_another_nodes_messages_is_handled_without_a_send_on_this_node()
    {
        var backplane = new InMemoryBackplane();
        var engine = new CometContext(new CometOptions { MaxPendingMessages = 3, OverflowPolicy = "drop" }, null, null, backplane, null).Engine;
        var c = TestSupport.Connect(engine);
        var overflows = new List<OverflowEvent>();
        engine.On<OverflowEvent>(e => { lock (overflows) overflows.Add(e); });
        // What the backplane receiver files from another node: this node sends nothing.
        for (var i = 0; i < 5; i++) backplane.Append(new OutgoingMessage("p", i.ToString(), 0, [c.Id], Origin: "another-node"));
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (c.State != ConnectionState.Dropped && waited.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);
        Assert.AreEqual(ConnectionState.Dropped, c.State, "the drop policy ends the connection whose queue overflowed");
        Assert.AreEqual(Events.DropReason.Overflow, c.DropReason);
        lock (overflows) Assert.AreEqual(2, overflows.Sum(e => e.Dropped));
        Assert.AreEqual(2, engine.GetStatistics().PendingDropped);
        Assert.IsNull(engine.GetConnection(c.Id), "the overflowed connection is not held any more");
    }

    [TestMethod]
    public async Task A_resumed_sessions_refill_that_does_not_fit_is_counted_and_reported_as_an_overflow()
    {
        var time = new ManualTime();
        var engine = new CometContext(new CometOptions { MaxPendingMessages = 3, ConnExpires = 5000 }, time).Engine;
        var c = TestSupport.Connect(engine);
        var overflows = new List<OverflowEvent>();
        engine.On<OverflowEvent>(e => overflows.Add(e));
        time.Advance(TimeSpan.FromMilliseconds(6000));
        Assert.AreEqual(1, engine.ExpireConnections());
        for (var i = 0; i < 5; i++) Assert.IsTrue(engine.SendTo("p", c.Id, i), "kept for the away session");
        Assert.AreEqual(0, engine.GetStatistics().PendingDropped);

        var resumed = await engine.ResumeAsync(c.Id, c.Secret, TestSupport.Request(), null, 0);
        Assert.IsNotNull(resumed.Connection, resumed.Message);
        var (messages, gap) = TestSupport.Read(engine, resumed.Connection, 0);
        CollectionAssert.AreEqual(new[] { "2", "3", "4" }, messages.Select(m => m.DataJson).ToArray());
        Assert.IsNotNull(gap);
        Assert.AreEqual(2, engine.GetStatistics().PendingDropped, "the two that did not fit are counted as other drops are");
        Assert.AreEqual(2, overflows.Single().Dropped);
        Assert.IsFalse(overflows.Single().ConnectionDropped);
    }

    [TestMethod]
    public void A_dying_connection_keeps_its_messages_and_expires_after_ConnExpires_firing_Drop()
    {
        var time = new ManualTime();
        var engine = new CometContext(new CometOptions { ConnExpires = 5000 }, time).Engine;
        var c = TestSupport.Connect(engine);
        var drops = new List<DropReason>();
        engine.On<DropEvent>(e => drops.Add(e.Reason));
        engine.SendTo("p", c, "kept");
        time.Advance(TimeSpan.FromMilliseconds(4000));
        Assert.AreEqual(0, engine.ExpireConnections());
        Assert.HasCount(1, TestSupport.Read(engine, c, 0).Messages);

        // A request keeps it alive however long it lasts.
        var att = engine.Attach(c, null);
        time.Advance(TimeSpan.FromMilliseconds(60000));
        Assert.AreEqual(0, engine.ExpireConnections());
        engine.Detach(c, att);
        time.Advance(TimeSpan.FromMilliseconds(5001));
        Assert.AreEqual(1, engine.ExpireConnections());
        Assert.IsNull(engine.GetConnection(c.Id));
        CollectionAssert.AreEqual(new[] { DropReason.Expired }, drops);
    }

    [TestMethod]
    public void BeforeRemove_can_keep_an_expired_connection()
    {
        var time = new ManualTime();
        var engine = new CometContext(new CometOptions { ConnExpires = 1000 }, time).Engine;
        var c = TestSupport.Connect(engine);
        engine.On<BeforeRemoveEvent>(_ => false);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.AreEqual(0, engine.ExpireConnections());
        Assert.AreSame(c, engine.GetConnection(c.Id));
    }

    [TestMethod]
    public async Task A_broadcast_wakes_every_waiting_writer_and_a_private_message_only_its_own()
    {
        var engine = new CometContext().Engine;
        var a = TestSupport.Connect(engine);
        var b = TestSupport.Connect(engine);
        var broadcast = engine.Delivery.BroadcastSignal.WaitTask;
        var wokeA = 0;
        var wokeB = 0;
        a.SetWaker(() => wokeA++);
        b.SetWaker(() => wokeB++);
        var versionB = b.PrivateVersion;
        engine.SendTo("p", a, 1);
        Assert.AreEqual(1, wokeA);
        Assert.AreEqual(0, wokeB);
        Assert.AreEqual(versionB, b.PrivateVersion);
        Assert.IsFalse(broadcast.IsCompleted);
        engine.SendToAll("n", 2);
        await broadcast.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.AreEqual(1, wokeA, "a broadcast does not touch the connections");
    }

    [TestMethod]
    public async Task Concurrent_senders_never_let_a_reader_skip_a_message()
    {
        var engine = new CometContext(new CometOptions { MaxPendingMessages = 100000 }).Engine;
        var c = TestSupport.Connect(engine);
        var cursor = engine.CursorAfter(c, 0);
        var received = new List<Comet4Net.Delivery.CometMessage>();
        const int perSender = 2000;
        var senders = Enumerable.Range(0, 4).Select(s => Task.Run(() =>
        {
            for (var i = 0; i < perSender; i++)
            {
                if ((i + s) % 2 == 0) engine.SendToAll("n", i);
                else engine.SendTo("p", c, i);
            }
        })).ToArray();
        var all = Task.WhenAll(senders);
        while (!all.IsCompleted || received.Count < 4 * perSender)
        {
            engine.Collect(c, ref cursor, received, 100);
            if (all.IsCompleted && received.Count < 4 * perSender)
            {
                engine.Collect(c, ref cursor, received, 100000);
                break;
            }
        }
        await all;
        Assert.HasCount(4 * perSender, received);
        for (var i = 1; i < received.Count; i++) Assert.IsGreaterThan(received[i - 1].Seq, received[i].Seq);
    }

    [TestMethod]
    public void Oversize_messages_and_bad_channels_are_refused_with_clear_errors()
    {
        var engine = new CometContext(new CometOptions { MaxMessageBytes = 100 }).Engine;
        var e = Assert.ThrowsExactly<ArgumentException>(() => engine.SendToAll("n", new string('x', 200)));
        Assert.Contains("MaxMessageBytes", e.Message);
        Assert.ThrowsExactly<ArgumentException>(() => engine.SendToAll("bad channel", 1));
        Assert.AreEqual(0, engine.GetStatistics().MessagesSent);
    }
}
