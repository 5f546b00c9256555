using Comet4Net.Events;

namespace Comet4Net;

/// <summary>Ending connections from the server side: drop and kick, here or on the node that holds them.</summary>
public sealed partial class CometEngine
{
    /// <summary>
    /// Ends a connection from the server side. Before-drop listeners may veto (returns false);
    /// otherwise the drop and removed events fire and its request, if any, ends.
    /// </summary>
    public bool Drop(CometConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return Lifecycle.Drop(connection, DropReason.Server);
    }

    /// <summary>
    /// Ends a connection with a reason the page sees in its <c>stop</c> event; a v2 client does not
    /// reconnect by itself. Before-drop listeners may veto. Returns false if vetoed or already gone.
    /// </summary>
    public bool Kick(CometConnection connection, string? reason = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (!Lifecycle.Drop(connection, DropReason.Server, reason ?? Options.Text("kicked by the server", "被服务器断开"))) return false;
        Counters.AddKick();
        return true;
    }

    /// <summary>
    /// Kicks every connection of a user, on every node. Returns how many were ended on this node (the
    /// other nodes end theirs as they receive the request).
    /// </summary>
    public int Kick(string userId, string? reason = null)
    {
        ArgumentNullException.ThrowIfNull(userId);
        Backplane.Control.RequestKick(null, userId, reason);
        return GetConnections(userId).Count(c => Kick(c, reason));
    }

    /// <summary>
    /// Kicks the connection with this id wherever it is held: here (as <see cref="Kick(CometConnection, string?)"/>),
    /// or, on a backplane shared by several nodes, by the node that holds it. A client that comes back
    /// to any node within the resume window is told it was kicked. Returns false if no node holds it
    /// (or a before-drop listener here vetoed).
    /// </summary>
    public bool KickConnection(string connectionId, string? reason = null)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        if (GetConnection(connectionId) is { } connection) return Kick(connection, reason);
        if (!Backplane.Sessions.SharesSessions || !ConnectionExists(connectionId)) return false;
        Backplane.Control.RequestKick(connectionId, null, reason);
        return true;
    }

    /// <summary>Another node's kick request: this node's connections it names.</summary>
    private void KickHere(string? connectionId, string? userId, string? reason)
    {
        if (connectionId is not null && GetConnection(connectionId) is { } connection) Kick(connection, reason);
        if (userId is not null) foreach (var c in GetConnections(userId)) Kick(c, reason);
    }
}
