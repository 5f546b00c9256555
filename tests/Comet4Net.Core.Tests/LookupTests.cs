using Comet4Net.Backplane;
using Comet4Net.Connections;

namespace Comet4Net.Core.Tests;

/// <summary>ConnectionExistsAsync and IsConnectionOwnerAsync: at once for this node's connections, without a thread while the store answers for another node's.</summary>
[TestClass]
public sealed class LookupTests
{
    /// <summary>A session store shared by "several nodes" whose asynchronous reads wait for <see cref="Open"/> (as Redis while it is slow).</summary>
    private sealed class GatedSessions(InMemoryBackplane inner) : ISessionStore
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal int AsyncReads;
        internal bool Unavailable;

        internal void Open() => _gate.TrySetResult();

        public bool SharesSessions => true;

        public void SaveSession(SessionState session, TimeSpan keepFor) => inner.SaveSession(session, keepFor);

        public void KeepSessions(IEnumerable<string> connectionIds, TimeSpan keepFor) => inner.KeepSessions(connectionIds, keepFor);

        public SessionState? FindSession(string connectionId) => inner.FindSession(connectionId);

        public async ValueTask<SessionState?> FindSessionAsync(string connectionId)
        {
            Interlocked.Increment(ref AsyncReads);
            await _gate.Task;
            if (Unavailable) throw new CometBackplaneUnavailableException("the store does not answer");
            return inner.FindSession(connectionId);
        }

        public bool RemoveSession(string connectionId) => inner.RemoveSession(connectionId);

        public int ExpireSessions() => inner.ExpireSessions();
    }

    private static (CometEngine Engine, GatedSessions Store) SharedEngine()
    {
        var backplane = new InMemoryBackplane();
        var store = new GatedSessions(backplane);
        var engine = new CometContext(new CometOptions(), null, null, new CometBackplane(backplane, store, backplane, backplane), null).Engine;
        return (engine, store);
    }

    /// <summary>A session that another node holds (or held: <paramref name="away"/>).</summary>
    private static SessionState Elsewhere(GatedSessions store, bool away = false)
    {
        var session = new SessionState(ConnectionIds.NewId(), ConnectionIds.NewId(), null, CometDialect.V2, 0, null, Away: away, Holder: "another-node");
        store.SaveSession(session, TimeSpan.FromMinutes(1));
        return session;
    }

    [TestMethod]
    public void This_nodes_connections_are_answered_at_once()
    {
        var engine = new CometContext(new CometOptions { AllowLegacyClients = true }).Engine;
        var v2 = TestSupport.Connect(engine);
        var other = TestSupport.Connect(engine);
        var legacy = TestSupport.Connect(engine, CometDialect.Legacy);
        void AtOnce(ValueTask<bool> lookup, bool expected, string what)
        {
            Assert.IsTrue(lookup.IsCompletedSuccessfully, what + ": answered without waiting");
            Assert.AreEqual(expected, lookup.Result, what);
        }
        AtOnce(engine.ConnectionExistsAsync(v2.Id), true, "a v2 connection exists");
        AtOnce(engine.ConnectionExistsAsync(legacy.Id), true, "a legacy connection exists");
        AtOnce(engine.ConnectionExistsAsync(null), false, "null");
        AtOnce(engine.ConnectionExistsAsync("AAAAAAAAAAAAAAAAAAAAAA"), false, "an unknown id");
        AtOnce(engine.IsConnectionOwnerAsync(v2.Id, v2.Secret), true, "its secret");
        AtOnce(engine.IsConnectionOwnerAsync(v2.Id, null), false, "no secret");
        AtOnce(engine.IsConnectionOwnerAsync(v2.Id, other.Secret), false, "another connection's secret");
        AtOnce(engine.IsConnectionOwnerAsync(legacy.Id, null), true, "a legacy connection's id is its proof");
        AtOnce(engine.IsConnectionOwnerAsync(null, v2.Secret), false, "null");
        AtOnce(engine.IsConnectionOwnerAsync("AAAAAAAAAAAAAAAAAAAAAA", v2.Secret), false, "an unknown id");
        engine.Drop(v2);
        AtOnce(engine.ConnectionExistsAsync(v2.Id), false, "a dropped connection");
        AtOnce(engine.IsConnectionOwnerAsync(v2.Id, v2.Secret), false, "a dropped connection is nobody's to speak for");

        // On a shared store too, a connection held here is not looked up.
        var (shared, store) = SharedEngine();
        var here = TestSupport.Connect(shared);
        AtOnce(shared.ConnectionExistsAsync(here.Id), true, "held here, shared store");
        AtOnce(shared.IsConnectionOwnerAsync(here.Id, here.Secret), true, "held here, shared store");
        Assert.AreEqual(0, store.AsyncReads, "no store read for a connection held here");
    }

    [TestMethod]
    [Timeout(10000, CooperativeCancellation = true)]
    public async Task Another_nodes_connection_is_answered_when_the_store_answers()
    {
        var (engine, store) = SharedEngine();
        var session = Elsewhere(store);
        var away = Elsewhere(store, away: true);

        var exists = engine.ConnectionExistsAsync(session.Id);
        var owner = engine.IsConnectionOwnerAsync(session.Id, session.Secret);
        var wrongSecret = engine.IsConnectionOwnerAsync(session.Id, away.Secret);
        var awayExists = engine.ConnectionExistsAsync(away.Id);
        var awayOwner = engine.IsConnectionOwnerAsync(away.Id, away.Secret);
        var unknown = engine.ConnectionExistsAsync("AAAAAAAAAAAAAAAAAAAAAA");
        Assert.IsFalse(exists.IsCompleted || owner.IsCompleted || wrongSecret.IsCompleted || awayExists.IsCompleted || awayOwner.IsCompleted || unknown.IsCompleted,
            "each waits for the store");
        Assert.AreEqual(6, store.AsyncReads, "read asynchronously");

        store.Open();
        Assert.IsTrue(await exists, "held by another node");
        Assert.IsTrue(await owner, "its secret proves it");
        Assert.IsFalse(await wrongSecret, "another secret does not");
        Assert.IsFalse(await awayExists, "an away session is not an open connection");
        Assert.IsFalse(await awayOwner, "an away session is nobody's to speak for");
        Assert.IsFalse(await unknown, "no session");
    }

    [TestMethod]
    [Timeout(10000, CooperativeCancellation = true)]
    public async Task A_store_that_does_not_answer_reports_not_held_and_a_cancelled_wait_throws()
    {
        var (engine, store) = SharedEngine();
        var session = Elsewhere(store);

        using var cancel = new CancellationTokenSource();
        var waiting = engine.IsConnectionOwnerAsync(session.Id, session.Secret, cancel.Token);
        var existsWaiting = engine.ConnectionExistsAsync(session.Id, cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(async () => await waiting);
        await Assert.ThrowsAsync<OperationCanceledException>(async () => await existsWaiting);
        await Assert.ThrowsAsync<OperationCanceledException>(async () => await engine.ConnectionExistsAsync(session.Id, cancel.Token), "already cancelled");

        store.Unavailable = true;
        store.Open();
        Assert.IsFalse(await engine.ConnectionExistsAsync(session.Id), "unknown while the store does not answer: not existing");
        Assert.IsFalse(await engine.IsConnectionOwnerAsync(session.Id, session.Secret), "not held");
        store.Unavailable = false;
        Assert.IsTrue(await engine.IsConnectionOwnerAsync(session.Id, session.Secret), "held once it answers");
    }
}
