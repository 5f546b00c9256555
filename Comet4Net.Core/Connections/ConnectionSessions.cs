using Comet4Net.Backplane;
using Comet4Net.Events;

namespace Comet4Net.Connections;

/// <summary>
/// This node's connections as sessions in the backplane's store: saved when they open, change or go
/// away, kept while held, read back; what resuming a connection needs, on any node.
/// </summary>
internal sealed class ConnectionSessions(CometEngine engine, ConnectionRegistry registry, ISessionStore store)
{
    private CometOptions Options => engine.Options;

    private TimeSpan ResumeWindow => TimeSpan.FromMilliseconds(Options.CacheExpires + Options.ConnFrequency);

    /// <summary>Reads a session; false if the backplane does not answer now (then whether it exists is unknown).</summary>
    internal bool TryFindSession(string id, out SessionState? session)
    {
        try
        {
            session = store.FindSession(id);
            return true;
        }
        catch (CometBackplaneUnavailableException)
        {
            session = null;
            return false;
        }
    }

    /// <summary>Extends the sessions of the v2 connections held here (they are kept as long as held, then for the resume window).</summary>
    internal void KeepSessions() =>
        store.KeepSessions(registry.Enumerate().Where(c => c.Dialect == CometDialect.V2).Select(c => c.Id), ResumeWindow);

    /// <summary>Keeps what resuming the connection needs, for the resume window (CacheExpires); this node is its holder.</summary>
    /// <remarks>
    /// On a backplane that does not share sessions (one node), a held connection is its own session:
    /// it is saved only when the connection goes away (expiry, shutdown), which saves memory per connection.
    /// </remarks>
    internal void SaveSession(CometConnection connection, bool away = false)
    {
        if (!store.SharesSessions && !away)
        {
            if (connection.Dialect == CometDialect.V2) store.RemoveSession(connection.Id); // a resumed one's old copy
            return;
        }
        if (SessionOf(connection, away) is { } session) store.SaveSession(session, TimeSpan.FromMilliseconds(Options.CacheExpires));
    }

    /// <summary><see cref="SaveSession"/> without holding a thread while the backplane answers.</summary>
    internal ValueTask SaveSessionAsync(CometConnection connection)
    {
        if (!store.SharesSessions)
        {
            SaveSession(connection);
            return default;
        }
        return SessionOf(connection, away: false) is { } session ? store.SaveSessionAsync(session, TimeSpan.FromMilliseconds(Options.CacheExpires)) : default;
    }

    private SessionState? SessionOf(CometConnection connection, bool away)
    {
        if (connection.Dialect != CometDialect.V2 || connection.State == ConnectionState.Dropped && connection.DropReason is not (DropReason.Expired or DropReason.Shutdown)) return null;
        return Describe(connection, away);
    }

    /// <summary>The connection as a session held by this node (what is saved for resuming, and what <see cref="CometEngine.GetSession"/> shows).</summary>
    internal SessionState Describe(CometConnection connection, bool away)
    {
        var subscriptions = connection.Subscriptions is { } s ? new Dictionary<string, long>(s, StringComparer.Ordinal) : null;
        return new SessionState(connection.Id, connection.Secret, connection.UserId, connection.Dialect,
            connection.StartSeq, subscriptions, connection.Style, away, engine.NodeId, TokenExpires: Interlocked.Read(ref connection.TokenExpires));
    }
}
