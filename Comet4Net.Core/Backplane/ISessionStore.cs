namespace Comet4Net.Backplane;

/// <summary>
/// The session store: what resuming a connection needs (<see cref="SessionState"/>), kept for the
/// resume window.
/// </summary>
/// <remarks>
/// Guarantee: a saved session is found by any node that shares the store until its window passes
/// after the last save or keep, and not after it is removed; a store that does not answer says so
/// (<see cref="CometBackplaneUnavailableException"/>) instead of "no such session". The async members
/// hold no thread while the store answers: the host uses them on request paths. The synchronous
/// ones serve the engine's synchronous paths (Comet4J's API) and may wait for the store.
/// </remarks>
public interface ISessionStore
{
    /// <summary>
    /// True when other nodes read these sessions, so that a client's requests may land on any node:
    /// the node that serves a request then records itself as the session's holder.
    /// </summary>
    bool SharesSessions { get; }

    /// <summary>
    /// Stores what resuming a connection needs, kept for <paramref name="keepFor"/> after the last
    /// save or <see cref="KeepSessions"/>. The engine saves when a connection opens, when its
    /// subscriptions change and when it is dropped by expiry.
    /// </summary>
    void SaveSession(SessionState session, TimeSpan keepFor);

    /// <summary><see cref="SaveSession"/> without holding a thread while the store answers. The default runs the synchronous call (right for a store in memory).</summary>
    ValueTask SaveSessionAsync(SessionState session, TimeSpan keepFor)
    {
        SaveSession(session, keepFor);
        return default;
    }

    /// <summary>Extends the sessions of the connections this node holds (called every ConnFrequency); never waits for the store.</summary>
    void KeepSessions(IEnumerable<string> connectionIds, TimeSpan keepFor);

    /// <summary>The session with this connection id, or null if none is kept (never existed, dropped, or past its window).</summary>
    /// <exception cref="CometBackplaneUnavailableException">The store does not answer now: whether the session exists is unknown.</exception>
    SessionState? FindSession(string connectionId);

    /// <summary><see cref="FindSession"/> without holding a thread while the store answers. The default runs the synchronous call.</summary>
    /// <exception cref="CometBackplaneUnavailableException">The store does not answer now.</exception>
    ValueTask<SessionState?> FindSessionAsync(string connectionId) => new(FindSession(connectionId));

    /// <summary>Forgets a session (the connection was dropped for good). Returns false if none was kept.</summary>
    bool RemoveSession(string connectionId);

    /// <summary>
    /// Forgets sessions past their window and returns how many; the engine's scheduler calls it.
    /// A store that expires entries by itself (Redis) returns 0.
    /// </summary>
    int ExpireSessions();
}
