using Comet4Net.Backplane;
using Comet4Net.Delivery;

namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class BackplaneTests
{
    private sealed class Recorder : IBackplaneReceiver
    {
        internal readonly List<CometMessage> Received = new();
        public void Receive(CometMessage message) { lock (Received) Received.Add(message); }
    }

    [TestMethod]
    public void Appends_are_numbered_in_order_and_reach_the_receiver_before_Append_returns()
    {
        var backplane = new InMemoryBackplane();
        var receiver = new Recorder();
        backplane.Start(receiver);
        var first = backplane.LastSequence;
        Parallel.For(0, 1000, i => backplane.Append(new OutgoingMessage("n", i.ToString(), 0)));
        Assert.AreEqual(first + 1000, backplane.LastSequence);
        CollectionAssert.AreEqual(Enumerable.Range(1, 1000).Select(i => first + i).ToArray(), receiver.Received.Select(m => m.Seq).ToArray());
        var last = backplane.Append(new OutgoingMessage("n", "\"x\"", 0, ["a", "b"]));
        Assert.AreSame(last, receiver.Received[^1]);
        Assert.IsFalse(last.IsBroadcast);
    }

    [TestMethod]
    public void A_later_epoch_numbers_above_every_number_of_an_earlier_one()
    {
        var time = new ManualTime();
        var earlier = new InMemoryBackplane(time);
        earlier.Start(new Recorder());
        for (var i = 0; i < 5000; i++) earlier.Append(new OutgoingMessage("n", "1", 0));
        time.Advance(TimeSpan.FromSeconds(1)); // a restart a second later
        var later = new InMemoryBackplane(time);
        Assert.IsGreaterThan(earlier.LastSequence, later.LastSequence);
        Assert.IsLessThan(1L << 53, later.LastSequence, "numbers stay exact in JavaScript");
    }

    [TestMethod]
    public void A_backplane_serves_one_engine_and_a_new_one_has_a_new_epoch()
    {
        var backplane = new InMemoryBackplane();
        backplane.Start(new Recorder());
        Assert.ThrowsExactly<InvalidOperationException>(() => backplane.Start(new Recorder()));
        Assert.AreNotEqual(backplane.Epoch, new InMemoryBackplane().Epoch);
    }

    [TestMethod]
    public void Sessions_are_kept_for_their_window_then_forgotten()
    {
        var time = new ManualTime();
        var backplane = new InMemoryBackplane(time);
        var session = new SessionState("id", "secret", "ann", CometDialect.V2, 5, null);
        backplane.SaveSession(session, TimeSpan.FromSeconds(60));
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.AreSame(session, backplane.FindSession("id"));
        Assert.AreEqual(0, backplane.ExpireSessions());
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.IsNull(backplane.FindSession("id"));
        backplane.SaveSession(session, TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.AreEqual(1, backplane.ExpireSessions());
        Assert.AreEqual(0, backplane.SessionCount);
        Assert.IsFalse(backplane.RemoveSession("id"));
    }

    [TestMethod]
    public void An_engine_on_a_given_backplane_numbers_its_messages_there()
    {
        var backplane = new InMemoryBackplane();
        var context = new CometContext(null, null, null, backplane, null);
        Assert.AreSame(backplane, context.Engine.Backplane);
        var seq = context.Engine.SendToAll("n", 1);
        Assert.AreEqual(backplane.LastSequence, seq);
    }

    [TestMethod]
    public async Task In_memory_a_synchronous_send_has_its_number_at_once_and_an_asynchronous_one_completes_at_once()
    {
        var backplane = new InMemoryBackplane();
        var engine = new CometContext(null, null, null, backplane, null).Engine;
        var first = engine.SendToAll("n", 1);
        var second = engine.SendToAllAsync("n", 2);
        Assert.IsTrue(second.IsCompletedSuccessfully, "numbered before it returned");
        Assert.AreEqual(first + 1, await second);
        Assert.AreEqual(first + 2, engine.SendToAll("n", 3));
    }

    [TestMethod]
    public void An_engine_uses_each_part_of_a_composed_backplane_for_its_job()
    {
        var log = new InMemoryBackplane();
        var rest = new InMemoryBackplane();
        var engine = new CometContext(null, null, null, new CometBackplane(log, rest, rest, rest), null).Engine;
        var seq = engine.SendToAll("n", 1);
        Assert.AreEqual(log.LastSequence, seq, "numbered by the log part");
        Assert.AreNotEqual(rest.LastSequence, seq);
        Assert.AreEqual(log.Epoch, engine.Backplane.Epoch);
    }
}
