using Comet4Net.Backplane;

namespace Comet4Net.Connections;

/// <summary>
/// Connections the server ended (kicked, overflowed): remembered on this node (<see cref="KickedList"/>)
/// and, on a shared backplane, kept in the session store as a tombstone, so that a client coming back
/// to any node is told why, not resumed nor invited to connect again.
/// </summary>
internal sealed class KickedSessions(KickedList kicked, ConnectionSessions sessions, ISessionStore store)
{
    /// <summary>The reason a recently kicked connection was given, or null.</summary>
    internal string? ReasonFor(string id) => kicked.ReasonFor(id);

    /// <summary>A kicked connection (here, or a tombstone read from the backplane): this node tells its client.</summary>
    internal void Remember(string id, string reason) => kicked.Add(id, reason);

    /// <summary>Replaces the connection's session with a tombstone that names the reason, kept as long as the list here keeps it.</summary>
    internal void KeepInStore(CometConnection connection, string reason)
    {
        var session = sessions.Describe(connection, away: true) with { Subscriptions = null, Kicked = reason };
        try
        {
            store.SaveSession(session, KickedList.KeepFor);
        }
        catch (CometBackplaneUnavailableException)
        {
            // This node still tells the client; another node would invite it to connect again.
        }
    }

    /// <summary>Forgets the kicks past their time.</summary>
    internal void Expire() => kicked.Expire();
}
