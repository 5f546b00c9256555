using Comet4Net.Backplane;
using Comet4Net.Channels;
using Comet4Net.Delivery;
using Comet4Net.Diagnostics;
using Comet4Net.Events;

namespace Comet4Net.Connections;

/// <summary>
/// A connection's life on this node, with Comet4J's events: admitted and connected, alive while a
/// request is attached, dying between requests, removed (dropped, kicked, expired).
/// </summary>
internal sealed class ConnectionLifecycle(
    CometEngine engine, ConnectionRegistry registry, Admission admission, UserIndex users, KickedList kicked,
    ICometBackplane backplane, EngineCounters counters)
{
    private CometOptions Options => engine.Options;

    /// <summary>
    /// Opens a connection: limits and token, then the before-connect listeners, then the subscribe
    /// listeners for the channels it names, then it is held and the connect event fires.
    /// <paramref name="resumeAfter"/> starts it after that number (SSE's Last-Event-ID).
    /// </summary>
    internal ConnectResult Connect(ICometRequest request, CometDialect dialect, CometWorkStyle style, string clientVersion,
        long? resumeAfter = null, IReadOnlyCollection<string>? subscribe = null, bool deferSave = false)
    {
        var admitted = admission.Admit(request, out var userId);
        if (admitted.Outcome != CometOutcome.Ok) return admitted;

        var log = engine.Delivery.Log;
        var last = log.LastSeq;
        var start = resumeAfter is { } r && r >= 0 && r < last ? r : last;
        var connection = new CometConnection(engine, ConnectionIds.NewId(), ConnectionIds.NewId(), dialect, style, clientVersion, request,
            start, start == last ? log.Published : log.PositionAfter(start), engine.Timestamp)
        {
            UserId = userId,
        };
        if (subscribe is not null)
        {
            connection.Subscriptions = ChannelStarts.From(subscribe.Select(channel => KeyValuePair.Create(channel, start)));
        }
        return Admit(connection, request, checkSubscriptions: true, deferSave: deferSave);
    }

    /// <summary>
    /// Brings back a session whose connection was dropped (it stayed away longer than ConnExpires)
    /// within the resume window: a new connection object with the same id, user and subscriptions,
    /// connected again with Comet4J's events, its private messages after <paramref name="ack"/> refilled.
    /// The subscribe listeners are asked again: a channel refused now is not received.
    /// A session that is not away (its client was served by another node a moment ago) is taken
    /// over quietly: for the application it is the same connection, still connected.
    /// </summary>
    internal ConnectResult Resume(SessionState session, ICometRequest request, CometWorkStyle style, long ack, bool deferSave = false)
    {
        var handOver = backplane.Sessions.SharesSessions && !session.Away;
        var admitted = admission.Admit(request, out _, checkToken: false);
        if (admitted.Outcome != CometOutcome.Ok) return admitted;
        var log = engine.Delivery.Log;
        var connection = new CometConnection(engine, session.Id, session.Secret, session.Dialect, style, "resumed", request,
            session.StartSeq, log.PositionAfter(session.StartSeq), engine.Timestamp)
        {
            UserId = session.UserId,
        };
        if (session.Subscriptions is { } kept) connection.Subscriptions = ChannelStarts.From(kept);
        var overflow = 0;
        var result = Admit(connection, request, checkSubscriptions: !handOver, () => overflow = engine.Delivery.Refill(connection, ack), quiet: handOver, deferSave: deferSave);
        if (result.Outcome != CometOutcome.Ok) return result;
        CometLog.SessionResumed(engine.Logger, Options.ConnectionLogLevel(), connection.Id, connection.ClientIp);
        if (overflow > 0)
        {
            // What waited for it did not fit in its queue: counted, told and handled by the policy as any overflow, now that it is held.
            engine.Delivery.Overflowed(connection, overflow);
            engine.Sender.HandleOverflows();
        }
        return result;
    }

    /// <summary>
    /// The second half of connect and resume: before-connect and subscribe listeners, then the
    /// connection is held. <paramref name="quiet"/>: a hand-over between nodes, without listeners.
    /// <paramref name="deferSave"/>: the caller saves the session (asynchronously) before it answers.
    /// </summary>
    private ConnectResult Admit(CometConnection connection, ICometRequest request, bool checkSubscriptions, Action? beforeRegister = null, bool quiet = false,
        bool deferSave = false)
    {
        var before = new BeforeConnectEvent(engine, connection, request);
        if (!quiet && (!engine.Bus.Fire(before) || before.Refused))
        {
            admission.Release(request.ClientIp);
            return new ConnectResult(null, CometOutcome.Refused,
                before.Reason ?? Options.Text("The application refused the connection.", "应用拒绝了连接。"), before.Status);
        }
        List<string>? refused = null;
        if (checkSubscriptions && connection.Subscriptions is { } named)
        {
            refused = engine.Access.Check(connection, named.Keys);
            foreach (var channel in refused) named = named.Without(channel);
            lock (connection.Sync) connection.Subscriptions = named;
        }
        if (!registry.TryAdd(connection))
        {
            // The same session resumed by two requests at once: the first one's connection serves both.
            admission.Release(request.ClientIp);
            return registry.Find(connection.Id) is { } winner ? ConnectResult.Accepted(winner) : new ConnectResult(null, CometOutcome.UnknownSession, null);
        }
        beforeRegister?.Invoke();
        connection.Registered = true;
        if (!deferSave) SaveSession(connection); // any node can resume it from now on
        SyncUser(connection, quiet);
        engine.Subscriptions.Register(connection);
        if (quiet) return ConnectResult.Accepted(connection);
        counters.AddConnect();
        CometLog.ConnectionOpened(engine.Logger, Options.ConnectionLogLevel(), connection.Id, connection.ClientIp, connection.Dialect, connection.WorkStyle);
        engine.Bus.Fire(new ConnectEvent(engine, connection));
        engine.Subscriptions.Announce(connection);
        return ConnectResult.Accepted(connection, refused);
    }

    /// <summary>Ends a connection unless a before-drop listener vetoes. Returns false if vetoed or already gone.</summary>
    internal bool Drop(CometConnection connection, DropReason reason, string? message = null)
    {
        if (connection.State == ConnectionState.Dropped) return false;
        if (!engine.Bus.Fire(new BeforeDropEvent(engine, connection, reason))) return false;
        Remove(connection, reason, message);
        return true;
    }

    /// <summary>Removes a connection: its request ends, its slot is freed, the drop, unsubscribe and removed events fire.</summary>
    internal void Remove(CometConnection connection, DropReason reason, string? message = null)
    {
        if (!connection.MarkDropped(reason, message)) return;
        // The store is written before this node lets go of the connection: once GetConnection here
        // says null, no node reads it as live (a kick confirmed here is a kick everywhere).
        // Away too long, or this node stopping: Comet4J's drop, but the client may still resume
        // (on another node, in a cluster) within the resume window.
        if (reason is DropReason.Expired or DropReason.Shutdown) SaveSession(connection, away: true);
        else if (reason is DropReason.Server or DropReason.Overflow && backplane.Sessions.SharesSessions && connection.Dialect == CometDialect.V2)
            KeepKicked(connection, message ?? reason.ToString()); // a client that comes back to another node is told, not resumed
        else backplane.Sessions.RemoveSession(connection.Id);
        if (registry.Remove(connection)) admission.Release(connection.ClientIp);
        if (reason is not (DropReason.Expired or DropReason.Shutdown) && backplane.Sessions.SharesSessions) backplane.Control.AnnounceGone(connection.Id);
        if (reason is DropReason.Server or DropReason.Overflow) kicked.Add(connection.Id, message ?? reason.ToString());
        counters.AddDrop();
        CometLog.ConnectionRemoved(engine.Logger, Options.ConnectionLogLevel(), connection.Id, reason);
        engine.Bus.Fire(new DropEvent(engine, connection, reason));
        engine.Subscriptions.Unregister(connection, reason);
        SyncUser(connection);
        engine.Bus.Fire(new RemovedEvent(engine, connection, reason));
    }

    /// <summary>The reason a recently kicked connection was given, or null.</summary>
    internal string? KickedReason(string id) => kicked.ReasonFor(id);

    /// <summary>A kicked session read from the backplane: this node tells the client too.</summary>
    internal void RememberKicked(string id, string reason) => kicked.Add(id, reason);

    private void KeepKicked(CometConnection connection, string reason)
    {
        var session = Describe(connection, away: true) with { Subscriptions = null, Kicked = reason };
        try
        {
            backplane.Sessions.SaveSession(session, KickedList.KeepFor);
        }
        catch (CometBackplaneUnavailableException)
        {
            // This node still tells the client; another node would invite it to connect again.
        }
    }

    /// <summary>
    /// A connection whose client is now served by another node (the session names another holder):
    /// this node lets its copy go without Comet4J's events, which the holder raises when the client really leaves.
    /// </summary>
    private void RemoveHandedOver(CometConnection connection)
    {
        if (!connection.MarkDropped(DropReason.Expired, null)) return;
        if (registry.Remove(connection)) admission.Release(connection.ClientIp);
        engine.Subscriptions.Unregister(connection, DropReason.Expired, quiet: true);
        SyncUser(connection, quiet: true);
    }

    /// <summary>Another node ended this connection for good: this node's copy (from serving it earlier) goes quietly.</summary>
    internal void Forget(string connectionId)
    {
        if (registry.Find(connectionId) is { } copy) RemoveHandedOver(copy);
    }

    /// <summary>Attaches a request to a connection and raises Revival if it was dying.</summary>
    /// <remarks><paramref name="tookOver"/>: the host already ran <see cref="TakeOverAsync"/>.</remarks>
    internal Attachment Attach(CometConnection connection, object? native, bool tookOver = false)
    {
        if (!tookOver && backplane.Sessions.SharesSessions && connection.Dialect == CometDialect.V2) TakeOver(connection);
        var attachment = connection.Attach(native, out var revived);
        if (revived) engine.Bus.Fire(new RevivalEvent(engine, connection));
        return attachment;
    }

    /// <summary>
    /// This node serves the connection now. If another node served it since this copy was made, the
    /// copy first takes what the session says now (subscriptions, user), which may have changed there.
    /// </summary>
    private void TakeOver(CometConnection connection)
    {
        // A store that does not answer: serve with this copy's subscriptions, and save them when it answers again.
        if (TryFindSession(connection.Id, out var session)) Adopt(connection, session);
        SaveSession(connection);
    }

    /// <summary><see cref="TakeOver"/> without holding a thread while the backplane answers.</summary>
    internal async ValueTask TakeOverAsync(CometConnection connection)
    {
        if (!backplane.Sessions.SharesSessions || connection.Dialect != CometDialect.V2) return;
        SessionState? session = null;
        try
        {
            session = await backplane.Sessions.FindSessionAsync(connection.Id).ConfigureAwait(false);
        }
        catch (CometBackplaneUnavailableException)
        {
            // Serve with this copy's subscriptions; they are saved below, or when the store answers again.
        }
        Adopt(connection, session);
        await SaveSessionAsync(connection).ConfigureAwait(false);
    }

    /// <summary>If another node served the connection since this copy was made, this copy takes the subscriptions its session says.</summary>
    private void Adopt(CometConnection connection, SessionState? session)
    {
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

    /// <summary>Detaches a finished request and raises Dying if no newer one took over.</summary>
    internal void Detach(CometConnection connection, Attachment attachment)
    {
        if (connection.Detach(attachment, engine.Timestamp)) engine.Bus.Fire(new DyingEvent(engine, connection));
    }

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
            if (backplane.Presence.TracksUsers)
            {
                if (oldUser is not null) wentOffline = backplane.Presence.UserLeft(oldUser, connection.Id, handedOver: quiet);
                if (newUser is not null) cameOnline = backplane.Presence.UserJoined(newUser, connection.Id, handedOver: quiet);
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
        if (!backplane.Presence.TracksUsers) return 0;
        var gone = backplane.Presence.ExpireUsers();
        foreach (var user in gone) engine.Bus.Fire(new UserOfflineEvent(engine, null, user));
        return gone.Count;
    }

    /// <summary>Removes connections dying longer than ConnExpires (unless a before-remove listener keeps them). Returns how many.</summary>
    internal int ExpireConnections()
    {
        kicked.Expire();
        var removed = 0;
        var limit = TimeSpan.FromMilliseconds(Options.ConnExpires);
        foreach (var connection in registry.Enumerate())
        {
            if (connection.State != ConnectionState.Dying || engine.Elapsed(connection.DyingSince) <= limit) continue;
            var elsewhere = HeldElsewhere(connection);
            if (elsewhere is null) continue; // the store does not answer: decide at a later tick, not by guessing
            if (elsewhere == true)
            {
                RemoveHandedOver(connection);
                continue;
            }
            if (!engine.Bus.Fire(new BeforeRemoveEvent(engine, connection))) continue;
            Remove(connection, DropReason.Expired);
            counters.AddExpired();
            removed++;
        }
        return removed;
    }

    /// <summary>Ends every connection (the host is stopping); copies of connections another node serves now go quietly.</summary>
    internal void Shutdown()
    {
        foreach (var connection in registry.Snapshot())
        {
            if (HeldElsewhere(connection) == true) RemoveHandedOver(connection);
            else Remove(connection, DropReason.Shutdown);
        }
    }

    /// <summary>
    /// True if, on a shared backplane, another node served this connection's client since this node
    /// did; null if the backplane does not answer now.
    /// </summary>
    private bool? HeldElsewhere(CometConnection connection)
    {
        if (!backplane.Sessions.SharesSessions || connection.Dialect != CometDialect.V2) return false;
        if (!TryFindSession(connection.Id, out var session)) return null;
        return session is not null && session.Holder != engine.NodeId;
    }

    /// <summary>Reads a session; false if the backplane does not answer now (then whether it exists is unknown).</summary>
    internal bool TryFindSession(string id, out SessionState? session)
    {
        try
        {
            session = backplane.Sessions.FindSession(id);
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
        backplane.Sessions.KeepSessions(registry.Enumerate().Where(c => c.Dialect == CometDialect.V2).Select(c => c.Id), ResumeWindow);

    private TimeSpan ResumeWindow => TimeSpan.FromMilliseconds(Options.CacheExpires + Options.ConnFrequency);

    /// <summary>Keeps what resuming the connection needs, for the resume window (CacheExpires); this node is its holder.</summary>
    /// <remarks>
    /// On a backplane that does not share sessions (one node), a held connection is its own session:
    /// it is saved only when the connection goes away (expiry, shutdown), which saves memory per connection.
    /// </remarks>
    internal void SaveSession(CometConnection connection, bool away = false)
    {
        if (!backplane.Sessions.SharesSessions && !away)
        {
            if (connection.Dialect == CometDialect.V2) backplane.Sessions.RemoveSession(connection.Id); // a resumed one's old copy
            return;
        }
        if (SessionOf(connection, away) is { } session) backplane.Sessions.SaveSession(session, TimeSpan.FromMilliseconds(Options.CacheExpires));
    }

    /// <summary><see cref="SaveSession"/> without holding a thread while the backplane answers.</summary>
    internal ValueTask SaveSessionAsync(CometConnection connection)
    {
        if (!backplane.Sessions.SharesSessions)
        {
            SaveSession(connection);
            return default;
        }
        return SessionOf(connection, away: false) is { } session ? backplane.Sessions.SaveSessionAsync(session, TimeSpan.FromMilliseconds(Options.CacheExpires)) : default;
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
            connection.StartSeq, subscriptions, connection.Style, away, engine.NodeId);
    }
}
