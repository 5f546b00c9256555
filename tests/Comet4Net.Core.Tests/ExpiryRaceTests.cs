using Comet4Net.Backplane;
using Comet4Net.Connections;
using Comet4Net.Events;

namespace Comet4Net.Core.Tests;

/// <summary>
/// A connection's expiry (or a hand-over's let-go) racing a revival of it on the same node. Found in the
/// three-node browser test with cut chunks: a node let a dying copy go (clearing its private queue) while a
/// revival that had already found it was attaching, and the request then delivered the broadcasts after
/// the client's position without the private messages between them; the client's position moved past
/// those, and they were lost without a gap.
/// </summary>
[TestClass]
public sealed class ExpiryRaceTests
{
    /// <summary>A store shared with "other nodes": <see cref="OnFind"/> runs when the expiry asks who holds a session.</summary>
    private sealed class SharedSessions(InMemoryBackplane inner) : ISessionStore
    {
        internal Action? OnFind;

        public bool SharesSessions => true;

        public void SaveSession(SessionState session, TimeSpan keepFor) => inner.SaveSession(session, keepFor);

        public void KeepSessions(IEnumerable<string> connectionIds, TimeSpan keepFor) => inner.KeepSessions(connectionIds, keepFor);

        public SessionState? FindSession(string connectionId)
        {
            OnFind?.Invoke();
            return inner.FindSession(connectionId);
        }

        public ValueTask<SessionState?> FindSessionAsync(string connectionId) => ValueTask.FromResult(FindSession(connectionId));

        public bool RemoveSession(string connectionId) => inner.RemoveSession(connectionId);

        public int ExpireSessions() => inner.ExpireSessions();
    }

    [TestMethod]
    public void A_request_attached_to_a_connection_dropped_after_it_was_found_delivers_nothing()
    {
        var engine = new CometContext().Engine;
        var c = TestSupport.Connect(engine);
        engine.SendTo("p", c, "private");
        engine.SendToAll("news", "after it");
        Assert.HasCount(2, TestSupport.Read(engine, c, 0).Messages);

        // A revival found the connection; the node dropped it (clearing its queue) before the request attached.
        Assert.IsTrue(engine.Drop(c));
        engine.Attach(c, null, tookOver: true);
        var (messages, gap) = TestSupport.Read(engine, c, 0);
        Assert.IsEmpty(messages, "the broadcast alone would move the client's position past the private message");
        Assert.IsNull(gap);
    }

    [TestMethod]
    public void An_expiry_does_not_drop_a_connection_that_a_revival_attached_to_meanwhile()
    {
        var time = new ManualTime();
        var engine = new CometContext(new CometOptions { ConnExpires = 5000 }, time).Engine;
        var c = TestSupport.Connect(engine);
        engine.SendTo("p", c, "kept");
        time.Advance(TimeSpan.FromMilliseconds(6000));
        // The expiry saw it dying; a revival attaches before it acts (here, while the before-remove event is raised).
        engine.On<BeforeRemoveEvent>(_ => engine.Attach(c, null));
        Assert.AreEqual(0, engine.ExpireConnections());
        Assert.AreSame(c, engine.GetConnection(c.Id));
        Assert.AreEqual(ConnectionState.Alive, c.State);
        CollectionAssert.AreEqual(new[] { "\"kept\"" }, TestSupport.Read(engine, c, 0).Messages.Select(m => m.DataJson).ToArray());
    }

    [TestMethod]
    public void A_copy_held_elsewhere_is_not_let_go_if_a_revival_attached_to_it_while_the_store_answered()
    {
        var time = new ManualTime();
        var backplane = new InMemoryBackplane();
        var store = new SharedSessions(backplane);
        var engine = new CometContext(new CometOptions { ConnExpires = 5000 }, time, null, new CometBackplane(backplane, store, backplane, backplane), null).Engine;
        var c = TestSupport.Connect(engine);
        engine.SendTo("p", c, "kept");
        // Another node served the client since: its session names that node.
        store.SaveSession(store.FindSession(c.Id)! with { Holder = "another-node" }, TimeSpan.FromMinutes(1));
        time.Advance(TimeSpan.FromMilliseconds(6000));
        // While the expiry asks the store, the client comes back here.
        store.OnFind = () =>
        {
            store.OnFind = null;
            engine.Attach(c, null, tookOver: true);
        };
        Assert.AreEqual(0, engine.ExpireConnections());
        Assert.IsNull(store.OnFind, "the expiry asked the store");
        Assert.AreSame(c, engine.GetConnection(c.Id), "still held here");
        Assert.AreEqual(ConnectionState.Alive, c.State);
        CollectionAssert.AreEqual(new[] { "\"kept\"" }, TestSupport.Read(engine, c, 0).Messages.Select(m => m.DataJson).ToArray());

        // Without a revival meanwhile, the copy goes quietly as before.
        var d = TestSupport.Connect(engine);
        store.SaveSession(store.FindSession(d.Id)! with { Holder = "another-node" }, TimeSpan.FromMinutes(1));
        time.Advance(TimeSpan.FromMilliseconds(6000));
        engine.ExpireConnections();
        Assert.IsNull(engine.GetConnection(d.Id));
    }
}
