using Comet4Net.Backplane;
using Comet4Net.Connections;

namespace Comet4Net;

/// <summary>Finding connections, sessions and users: on this node, and across the cluster on a shared backplane.</summary>
public sealed partial class CometEngine
{
    /// <summary>The connections held now (a snapshot).</summary>
    public IReadOnlyCollection<CometConnection> Connections => _registry.Snapshot();

    /// <summary>How many connections the engine holds.</summary>
    public int ConnectionCount => _admission.Held;

    /// <summary>The connection with this id held by this node, or null. O(1). (<see cref="ConnectionExists"/> and <see cref="KickConnection"/> reach the whole cluster.)</summary>
    public CometConnection? GetConnection(string? id) => _registry.Find(id);

    /// <summary>
    /// True if the connection is open on this node or, on a backplane shared by several nodes, on
    /// any of them (its session is held, not away). Use it where a request may reach another node
    /// than the one serving the client.
    /// </summary>
    /// <remarks>
    /// A connection held by another node is looked up in the backplane's store, and this call waits for
    /// it: on Redis, a request thread is held while Redis is slow or frozen. On a request path, prefer
    /// <see cref="ConnectionExistsAsync"/>. While the store does not answer, a connection held by another
    /// node is reported as not existing.
    /// </remarks>
    public bool ConnectionExists(string? id) =>
        id is not null && (GetConnection(id) is not null
            || Backplane.Sessions.SharesSessions && Lifecycle.Sessions.TryFindSession(id, out var session) && session is { Away: false });

    /// <summary>
    /// <see cref="ConnectionExists"/> without holding a thread while the backplane's store answers. A
    /// connection held by this node (or any id, on a backplane that does not share sessions) is answered
    /// at once, without allocating; one held by another node is read from the store asynchronously.
    /// </summary>
    /// <param name="id">The connection's id (<c>cid</c>); null answers false.</param>
    /// <param name="cancellationToken">Stops waiting for the store (the call then throws <see cref="OperationCanceledException"/>; the store's read is not cancelled).</param>
    /// <remarks>While the store does not answer, a connection held by another node is reported as not existing.</remarks>
    public ValueTask<bool> ConnectionExistsAsync(string? id, CancellationToken cancellationToken = default)
    {
        if (id is null) return new(false);
        if (GetConnection(id) is not null) return new(true);
        if (!Backplane.Sessions.SharesSessions) return new(false);
        return HeldElsewhereAsync(id, cancellationToken);

        async ValueTask<bool> HeldElsewhereAsync(string id, CancellationToken cancellationToken) =>
            await FindHeldSessionAsync(id, cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <summary>
    /// True if <paramref name="id"/> names a connection open on this node or, on a shared backplane, on any
    /// node (as <see cref="ConnectionExists"/>), and the caller proves it holds it: for a v2 connection,
    /// <paramref name="secret"/> is the connection's secret (the <c>cs</c> its client was given, in the page
    /// <c>JS.Engine.getConnector().cs</c>). A legacy (Comet4J) connection has no secret: its id is the only proof.
    /// Use it before acting in a connection's name on a request of the application's own.
    /// </summary>
    /// <remarks>
    /// A connection held by another node is looked up in the backplane's store, and this call waits for
    /// it: on Redis, a request thread is held while Redis is slow or frozen. On a request path, prefer
    /// <see cref="IsConnectionOwnerAsync"/>. While the store does not answer, a connection held by
    /// another node is reported as not held.
    /// </remarks>
    public bool IsConnectionOwner(string? id, string? secret)
    {
        if (id is null) return false;
        if (GetConnection(id) is { } local) return Proves(secret, local.Dialect, local.Secret);
        return Backplane.Sessions.SharesSessions && Lifecycle.Sessions.TryFindSession(id, out var session) && session is { Away: false }
            && Proves(secret, session.Dialect, session.Secret);
    }

    /// <summary>
    /// <see cref="IsConnectionOwner"/> without holding a thread while the backplane's store answers. A
    /// connection held by this node (or any id, on a backplane that does not share sessions) is answered
    /// at once, without allocating; one held by another node is read from the store asynchronously.
    /// </summary>
    /// <param name="id">The connection's id (<c>cid</c>); null answers false.</param>
    /// <param name="secret">The connection's secret (<c>cs</c>); not needed for a legacy (Comet4J) connection.</param>
    /// <param name="cancellationToken">Stops waiting for the store (the call then throws <see cref="OperationCanceledException"/>; the store's read is not cancelled).</param>
    /// <remarks>While the store does not answer, a connection held by another node is reported as not held.</remarks>
    public ValueTask<bool> IsConnectionOwnerAsync(string? id, string? secret, CancellationToken cancellationToken = default)
    {
        if (id is null) return new(false);
        if (GetConnection(id) is { } local) return new(Proves(secret, local.Dialect, local.Secret));
        if (!Backplane.Sessions.SharesSessions) return new(false);
        return OwnedElsewhereAsync(id, secret, cancellationToken);

        async ValueTask<bool> OwnedElsewhereAsync(string id, string? secret, CancellationToken cancellationToken) =>
            await FindHeldSessionAsync(id, cancellationToken).ConfigureAwait(false) is { } session && Proves(secret, session.Dialect, session.Secret);
    }

    /// <summary>True if <paramref name="secret"/> proves the caller holds a connection of this dialect and secret (a legacy one needs none).</summary>
    private static bool Proves(string? secret, CometDialect dialect, string expected) =>
        dialect != CometDialect.V2 || ConnectionIds.SecretMatches(secret, expected);

    /// <summary>The session of a connection held (not away) by some node, read without holding a thread; null if none, or if the store does not answer.</summary>
    private async ValueTask<SessionState?> FindHeldSessionAsync(string id, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var find = Backplane.Sessions.FindSessionAsync(id);
            var session = find.IsCompleted || !cancellationToken.CanBeCanceled
                ? await find.ConfigureAwait(false)
                : await WaitAsync(find.AsTask(), cancellationToken).ConfigureAwait(false);
            return session is { Away: false } ? session : null;
        }
        catch (CometBackplaneUnavailableException)
        {
            return null;
        }

        static async Task<SessionState?> WaitAsync(Task<SessionState?> read, CancellationToken cancellationToken)
        {
            try
            {
                return await read.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!read.IsCompleted)
            {
                // The read goes on without a reader: its failure, if any, is observed here, not left to the finalizer.
                _ = read.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                throw;
            }
        }
    }

    /// <summary>
    /// What is known of a connection across the cluster: its user, channels, work style, the node that
    /// serves it (<see cref="SessionState.Holder"/>) and whether it is away (dropped, resumable). From
    /// this node's connection while it serves it, else, on a backplane shared by several nodes, from its
    /// session. Null if no node knows it. The secret is never included.
    /// </summary>
    /// <exception cref="Backplane.CometBackplaneUnavailableException">The backplane's store does not answer now.</exception>
    public SessionState? GetSession(string connectionId)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        var local = GetConnection(connectionId);
        if (local is not null && (local.State == ConnectionState.Alive || !Backplane.Sessions.SharesSessions))
        {
            return Lifecycle.Sessions.Describe(local, away: false) with { Secret = "" };
        }
        if (!ConnectionIds.IsValid(connectionId)) return null;
        return Backplane.Sessions.FindSession(connectionId) is { Kicked: null } session ? session with { Secret = "" } : null;
    }

    /// <summary>How many users have at least one connection (on every node, on a backplane that keeps users).</summary>
    public int UserCount => Backplane.Presence.TracksUsers ? Users.Count : _users.Count;

    /// <summary>The users with at least one connection, on every node on a backplane that keeps users (a snapshot).</summary>
    public IReadOnlyCollection<string> Users => Backplane.Presence.TracksUsers ? Backplane.Presence.Users() : _users.Users;

    /// <summary>The connections of a user held by this node (a snapshot; empty if none).</summary>
    public IReadOnlyList<CometConnection> GetConnections(string userId) => _users.ConnectionsOf(userId);
}
