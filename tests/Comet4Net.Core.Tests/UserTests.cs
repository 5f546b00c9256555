using System.Diagnostics.Metrics;
using Comet4Net.Events;

namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class UserTests
{
    private static CometConnection ConnectAs(CometEngine engine, string user)
    {
        var listener = engine.On<BeforeConnectEvent>(e => { e.Connection!.UserId = user; return true; });
        var c = TestSupport.Connect(engine);
        engine.RemoveListener(listener);
        return c;
    }

    [TestMethod]
    public void SendToUser_reaches_every_connection_of_that_user_only()
    {
        var engine = new CometContext().Engine;
        var a1 = ConnectAs(engine, "ann");
        var a2 = ConnectAs(engine, "ann");
        var b = ConnectAs(engine, "bob");
        Assert.AreEqual(2, engine.SendToUser("ann", "msg", "hi ann"));
        Assert.AreEqual(0, engine.SendToUser("nobody", "msg", "x"));
        Assert.HasCount(1, TestSupport.Read(engine, a1, 0).Messages);
        Assert.HasCount(1, TestSupport.Read(engine, a2, 0).Messages);
        Assert.IsEmpty(TestSupport.Read(engine, b, 0).Messages);
        CollectionAssert.AreEquivalent(new[] { a1, a2 }, engine.GetConnections("ann").ToArray());
        Assert.AreEqual(2, engine.UserCount);
    }

    [TestMethod]
    public void Online_fires_on_the_first_connection_and_offline_after_the_last()
    {
        var engine = new CometContext().Engine;
        var events = new List<string>();
        engine.On<UserOnlineEvent>(e => events.Add("online:" + e.UserId));
        engine.On<UserOfflineEvent>(e => events.Add("offline:" + e.UserId));
        var a1 = ConnectAs(engine, "ann");
        var a2 = ConnectAs(engine, "ann");
        engine.Drop(a1);
        CollectionAssert.AreEqual(new[] { "online:ann" }, events);
        engine.Drop(a2);
        CollectionAssert.AreEqual(new[] { "online:ann", "offline:ann" }, events);
        Assert.AreEqual(0, engine.UserCount);
    }

    [TestMethod]
    public void Changing_the_user_moves_the_connection()
    {
        var engine = new CometContext().Engine;
        var c = ConnectAs(engine, "ann");
        c.UserId = "bob";
        Assert.IsEmpty(engine.GetConnections("ann"));
        Assert.AreSame(c, engine.GetConnections("bob").Single());
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public void Concurrent_sets_of_the_user_leave_the_connection_under_one_user_its_own()
    {
        var engine = new CometContext().Engine;
        string[] users = ["ann", "bob", "cid", "dan"];
        for (var round = 0; round < 2000; round++)
        {
            var c = ConnectAs(engine, "ann");
            using var start = new Barrier(users.Length);
            var setters = users.Select(user => new Thread(() => { start.SignalAndWait(); c.UserId = user; })).ToArray();
            foreach (var t in setters) t.Start();
            foreach (var t in setters) t.Join();
            var holders = users.Where(u => engine.GetConnections(u).Contains(c)).ToArray();
            CollectionAssert.AreEqual(new[] { c.UserId }, holders, $"round {round}: the connection is {c.UserId}'s but indexed under {string.Join(", ", holders)}");
            engine.Drop(c);
            Assert.AreEqual(0, engine.UserCount, $"round {round}: a user is left online after the only connection went");
        }
    }

    [TestMethod]
    public void A_v2_connection_is_owned_by_whoever_holds_its_secret_and_a_legacy_one_by_its_id()
    {
        var engine = new CometContext(new CometOptions { AllowLegacyClients = true }).Engine;
        var v2 = TestSupport.Connect(engine);
        var other = TestSupport.Connect(engine);
        var legacy = TestSupport.Connect(engine, CometDialect.Legacy);
        Assert.IsTrue(engine.IsConnectionOwner(v2.Id, v2.Secret));
        Assert.IsFalse(engine.IsConnectionOwner(v2.Id, null));
        Assert.IsFalse(engine.IsConnectionOwner(v2.Id, other.Secret));
        Assert.IsTrue(engine.IsConnectionOwner(legacy.Id, null));
        Assert.IsFalse(engine.IsConnectionOwner("AAAAAAAAAAAAAAAAAAAAAA", v2.Secret));
        engine.Drop(v2);
        Assert.IsFalse(engine.IsConnectionOwner(v2.Id, v2.Secret), "a dropped connection is nobody's to speak for");
    }

    [TestMethod]
    public void Kick_ends_every_connection_of_a_user_with_a_reason()
    {
        var engine = new CometContext().Engine;
        var a1 = ConnectAs(engine, "ann");
        var a2 = ConnectAs(engine, "ann");
        var b = ConnectAs(engine, "bob");
        Assert.AreEqual(2, engine.Kick("ann", "behave"));
        Assert.AreEqual(ConnectionState.Dropped, a1.State);
        Assert.AreEqual("behave", a2.DropMessage);
        Assert.AreEqual(DropReason.Server, a2.DropReason);
        Assert.AreEqual("behave", engine.KickedReason(a1.Id));
        Assert.AreEqual(ConnectionState.Dying, b.State);
    }

    [TestMethod]
    public void The_meter_reports_connections_and_messages_of_its_own_engine_only()
    {
        var engine = new CometContext().Engine;
        TestSupport.Connect(engine);
        engine.SendToAll("n", 1);
        var other = new CometContext().Engine; // another engine in the same process: its figures must not mix in
        for (var i = 0; i < 3; i++) TestSupport.Connect(other);
        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, engine.Metrics.Meter)) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((i, v, _, _) => seen[i.Name] = v);
        listener.SetMeasurementEventCallback<int>((i, v, _, _) => seen[i.Name] = seen.GetValueOrDefault(i.Name) + v);
        listener.Start();
        listener.RecordObservableInstruments();
        Assert.AreEqual(1, seen["comet.connections"]);
        Assert.AreEqual(1, seen["comet.messages.sent"]);
        Assert.AreEqual(1, seen["comet.connections.opened"]);
        Assert.AreEqual(CometMetrics.MeterName, engine.Metrics.Meter.Name);
    }
}
