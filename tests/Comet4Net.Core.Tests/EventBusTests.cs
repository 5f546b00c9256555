using Comet4Net.Events;
using Comet4Net.Listeners;

namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class EventBusTests
{
    private sealed class Joins : ConnectListener
    {
        internal int Count;
        public override bool HandleEvent(ConnectEvent e) { Count++; return true; }
    }

    [TestMethod]
    public void Every_listener_can_be_removed_and_stops_hearing()
    {
        var engine = new CometContext().Engine;
        var ported = new Joins();
        engine.AddConnectListener(ported);
        var delegated = 0;
        var handle = engine.On<ConnectEvent>(_ => delegated++);
        TestSupport.Connect(engine);
        engine.RemoveConnectListener(ported);
        Assert.IsTrue(engine.Off(handle));
        Assert.IsFalse(engine.Off(handle), "removed once");
        TestSupport.Connect(engine);
        Assert.AreEqual(1, ported.Count);
        Assert.AreEqual(1, delegated);
    }

    [TestMethod]
    public void A_throwing_listener_raises_an_error_event_and_the_others_still_run()
    {
        var engine = new CometContext().Engine;
        var errors = new List<ErrorEvent>();
        engine.On<ErrorEvent>(e => errors.Add(e));
        engine.On<ConnectEvent>(_ => throw new InvalidOperationException("boom"));
        var after = 0;
        engine.On<ConnectEvent>(_ => after++);
        var c = TestSupport.Connect(engine);
        Assert.AreEqual(1, after);
        Assert.HasCount(1, errors);
        Assert.AreSame(c, errors[0].Connection);
        Assert.IsInstanceOfType<ConnectEvent>(errors[0].Source);
    }

    [TestMethod]
    public void Each_event_type_has_its_own_remove_method()
    {
        var removers = typeof(CometEngine).GetMethods().Where(m => m.Name.StartsWith("Remove", StringComparison.Ordinal) && m.Name.EndsWith("Listener", StringComparison.Ordinal)).Select(m => m.Name).ToHashSet();
        var adders = typeof(CometEngine).GetMethods().Where(m => m.Name.StartsWith("Add", StringComparison.Ordinal) && m.Name.EndsWith("Listener", StringComparison.Ordinal) && m.Name != "AddListener");
        foreach (var add in adders) Assert.Contains("Remove" + add.Name[3..], removers);
    }
}
