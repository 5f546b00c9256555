using Comet4Net.Backplane;
using Comet4Net.Events;

namespace Comet4Net.Connections;

/// <summary>
/// Which users are online: a connection moves between users in the index, the channel counts and
/// (on a backplane that keeps users) the cluster's presence, and Comet4J's UserOnline / UserOffline fire.
/// </summary>
internal sealed class UserPresence(CometEngine engine, UserIndex users, IPresenceStore presence)
{
    /// <summary>
    /// Moves a connection, in the index and the channel counts, from the user it is indexed under to the one
    /// it should be under (its <see cref="CometConnection.UserId"/> while registered and not dropped, else
    /// none); raises UserOffline / UserOnline.
    /// </summary>
    /// <remarks>
    /// The move is made under the connection's user lock and reads both ends there, so concurrent sets of
    /// UserId, a registration and a removal always leave it under one user, the right one; the events are
    /// raised after the lock is let go. On a backplane that keeps users cluster-wide, it says whether the
    /// user came online or went offline in the cluster (so each event fires once, not once per node);
    /// <paramref name="quiet"/> moves (hand-overs between nodes) only pass the entry on.
    /// </remarks>
    internal void SyncUser(CometConnection connection, bool quiet = false)
    {
        string? oldUser, newUser;
        bool wentOffline, cameOnline;
        lock (connection.UserSync)
        {
            oldUser = connection.IndexedUser;
            newUser = connection.Registered && connection.State != ConnectionState.Dropped ? connection.UserId : null;
            if (oldUser == newUser) return;
            (wentOffline, cameOnline) = users.Move(connection, oldUser, newUser);
            if (presence.TracksUsers)
            {
                if (oldUser is not null) wentOffline = presence.UserLeft(oldUser, connection.Id, handedOver: quiet);
                if (newUser is not null) cameOnline = presence.UserJoined(newUser, connection.Id, handedOver: quiet);
            }
            engine.Subscriptions.MoveUser(connection, oldUser, newUser);
            connection.IndexedUser = newUser;
        }
        if (quiet) return;
        if (wentOffline) engine.Bus.Fire(new UserOfflineEvent(engine, connection, oldUser!));
        if (cameOnline) engine.Bus.Fire(new UserOnlineEvent(engine, connection, newUser!));
    }

    /// <summary>
    /// Users whose every connection was on a node that died (their entries expired): their offline
    /// event, once in the cluster, raised here. Returns how many.
    /// </summary>
    internal int ExpireUsers()
    {
        if (!presence.TracksUsers) return 0;
        var gone = presence.ExpireUsers();
        foreach (var user in gone) engine.Bus.Fire(new UserOfflineEvent(engine, null, user));
        return gone.Count;
    }
}
