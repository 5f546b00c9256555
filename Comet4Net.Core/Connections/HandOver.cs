using Comet4Net.Backplane;
using Comet4Net.Channels;
using Comet4Net.Events;

namespace Comet4Net.Connections;

/// <summary>
/// A connection's client moving between the nodes of a cluster: the node that serves a request takes
/// the connection over (with what its session says now), and a node whose copy another node serves now
/// lets it go quietly, without Comet4J's events (the holder raises them when the client really leaves).
/// </summary>
internal sealed class HandOver(CometEngine engine, ConnectionRegistry registry, Admission admission, UserPresence users,
    ConnectionSessions sessions, ISessionStore store)
{
    /// <summary>True when a v2 connection's client may be served by another node (the backplane shares sessions).</summary>
    internal bool Applies(CometConnection connection) => store.SharesSessions && connection.Dialect == CometDialect.V2;

    /// <summary>
    /// This node serves the connection now. If another node served it since this copy was made, the
    /// copy first takes what the session says now (subscriptions, user), which may have changed there.
    /// </summary>
    internal void TakeOver(CometConnection connection)
    {
        // A store that does not answer: serve with this copy's subscriptions, and save them when it answers again.
        if (sessions.TryFindSession(connection.Id, out var session)) Adopt(connection, session);
        sessions.SaveSession(connection);
    }

    /// <summary>
    /// How long a request waits for the session store before it is served with this node's copy. Redis
    /// answers in a millisecond; a store that is frozen or far behind must not hold every revival on the
    /// node until its client's own timeout (seconds): the take-over then finishes when the store answers.
    /// </summary>
    internal static readonly TimeSpan StoreWait = TimeSpan.FromMilliseconds(250);

    /// <summary><see cref="TakeOver"/> without holding a thread while the backplane answers, and without waiting past <see cref="StoreWait"/>.</summary>
    internal async ValueTask TakeOverAsync(CometConnection connection)
    {
        if (!Applies(connection)) return;
        var takeOver = TakeOverFromStoreAsync(connection);
        if (takeOver.IsCompleted)
        {
            await takeOver.ConfigureAwait(false);
            return;
        }
        try
        {
            await takeOver.WaitAsync(StoreWait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Served with this copy's subscriptions, as when the store does not answer at all; the take-over
            // (adopting what another node changed, then saving) completes by itself when the store answers.
        }
    }

    private async Task TakeOverFromStoreAsync(CometConnection connection)
    {
        SessionState? session = null;
        try
        {
            session = await store.FindSessionAsync(connection.Id).ConfigureAwait(false);
        }
        catch (CometBackplaneUnavailableException)
        {
            // Serve with this copy's subscriptions; they are saved below, or when the store answers again.
        }
        Adopt(connection, session);
        await sessions.SaveSessionAsync(connection).ConfigureAwait(false);
    }

    /// <summary>If another node served the connection since this copy was made, this copy takes the subscriptions its session says.</summary>
    private void Adopt(CometConnection connection, SessionState? session)
    {
        if (session is not null) TokenExpiry.Adopt(connection, session.TokenExpires); // refreshed on another node
        if (session is null || session.Holder == engine.NodeId || SameSubscriptions(connection, session)) return;
        lock (connection.Sync)
        {
            engine.Subscriptions.Unregister(connection, DropReason.Expired, quiet: true);
            connection.Subscriptions = session.Subscriptions is { } kept ? ChannelStarts.From(kept) : null;
            engine.Subscriptions.Register(connection);
        }
    }

    private static bool SameSubscriptions(CometConnection connection, SessionState session)
    {
        var mine = connection.Subscriptions;
        var theirs = session.Subscriptions;
        if (mine is null || theirs is null) return mine is null && theirs is null;
        return mine.Count == theirs.Count && theirs.All(kv => mine.TryGetValue(kv.Key, out var start) && start == kv.Value);
    }

    /// <summary>
    /// True if, on a shared backplane, another node served this connection's client since this node
    /// did; null if the backplane does not answer now.
    /// </summary>
    internal bool? HeldElsewhere(CometConnection connection)
    {
        if (!Applies(connection)) return false;
        if (!sessions.TryFindSession(connection.Id, out var session)) return null;
        return session is not null && session.Holder != engine.NodeId;
    }

    /// <summary>
    /// A connection whose client is now served by another node (the session names another holder):
    /// this node lets its copy go without Comet4J's events, which the holder raises when the client really leaves.
    /// <paramref name="onlyIfDying"/>: not if a request attached to the copy since the caller saw it dying.
    /// </summary>
    internal void LetGo(CometConnection connection, bool onlyIfDying = false)
    {
        if (!connection.MarkDropped(DropReason.Expired, null, onlyIfDying)) return;
        if (registry.Remove(connection)) admission.Release(connection.ClientIp);
        engine.Subscriptions.Unregister(connection, DropReason.Expired, quiet: true);
        users.SyncUser(connection, quiet: true);
    }

    /// <summary>Another node ended this connection for good: this node's copy (from serving it earlier) goes quietly.</summary>
    internal void Forget(string connectionId)
    {
        if (registry.Find(connectionId) is { } copy) LetGo(copy);
    }
}
