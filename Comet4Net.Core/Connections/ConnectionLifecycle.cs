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
/// <remarks>
/// Its parts by job: <see cref="Sessions"/> (the session store), <see cref="Users"/> (users online),
/// <see cref="Kicked"/> (kicked connections) and <see cref="HandOver"/> (moves between nodes).
/// </remarks>
internal sealed class ConnectionLifecycle
{
    private readonly CometEngine engine;
    private readonly ConnectionRegistry registry;
    private readonly Admission admission;
    private readonly ICometBackplane backplane;
    private readonly EngineCounters counters;

    internal ConnectionLifecycle(CometEngine engine, ConnectionRegistry registry, Admission admission, UserIndex users, KickedList kicked,
        ICometBackplane backplane, EngineCounters counters)
    {
        this.engine = engine;
        this.registry = registry;
        this.admission = admission;
        this.backplane = backplane;
        this.counters = counters;
        Sessions = new ConnectionSessions(engine, registry, backplane.Sessions);
        Users = new UserPresence(engine, users, backplane.Presence);
        Kicked = new KickedSessions(kicked, Sessions, backplane.Sessions);
        HandOver = new HandOver(engine, registry, admission, Users, Sessions, backplane.Sessions);
    }

    /// <summary>This node's connections as sessions in the backplane's store.</summary>
    internal ConnectionSessions Sessions { get; }

    /// <summary>Users online, and their events.</summary>
    internal UserPresence Users { get; }

    /// <summary>Connections the server ended, remembered so their clients are told.</summary>
    internal KickedSessions Kicked { get; }

    /// <summary>Clients moving between the nodes of a cluster.</summary>
    internal HandOver HandOver { get; }

    private CometOptions Options => engine.Options;

    /// <summary>
    /// Opens a connection: limits and token, then the before-connect listeners, then the subscribe
    /// listeners for the channels it names, then it is held and the connect event fires.
    /// <paramref name="resumeAfter"/> starts it after that number (SSE's Last-Event-ID).
    /// </summary>
    internal ConnectResult Connect(ICometRequest request, CometDialect dialect, CometWorkStyle style, string clientVersion,
        long? resumeAfter = null, IReadOnlyCollection<string>? subscribe = null, bool deferSave = false)
    {
        var admitted = admission.Admit(request, out var userId, out var tokenExpires);
        if (admitted.Outcome != CometOutcome.Ok) return admitted;

        var log = engine.Delivery.Log;
        var last = log.LastSeq;
        var start = resumeAfter is { } r && r >= 0 && r < last ? r : last;
        var connection = new CometConnection(engine, ConnectionIds.NewId(), ConnectionIds.NewId(), dialect, style, clientVersion, request,
            start, start == last ? log.Published : log.PositionAfter(start), engine.Timestamp)
        {
            UserId = userId ?? ChannelPolicies.UserIdOf(request.User), // a token's user, else ASP.NET Core's; a before-connect listener may set another
            TokenExpires = dialect == CometDialect.V2 ? tokenExpires : 0, // the legacy dialect does not change: no refresh, no expiry
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
        var admitted = admission.Admit(request, out _, out _, checkToken: false);
        if (admitted.Outcome != CometOutcome.Ok) return admitted;
        var log = engine.Delivery.Log;
        var connection = new CometConnection(engine, session.Id, session.Secret, session.Dialect, style, "resumed", request,
            session.StartSeq, log.PositionAfter(session.StartSeq), engine.Timestamp)
        {
            UserId = session.UserId,
            TokenExpires = session.TokenExpires,
        };
        if (session.Subscriptions is { } kept) connection.Subscriptions = ChannelStarts.From(kept);
        var overflow = 0;
        var result = Admit(connection, request, checkSubscriptions: !handOver, () => overflow = engine.Delivery.Refill(connection, ack), quiet: handOver, deferSave: deferSave);
        if (result.Outcome != CometOutcome.Ok) return result;
        if (!handOver) counters.AddResume();
        ConnectionEvents.Resumed(connection, log, ack, handOver);
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
        if (!deferSave) Sessions.SaveSession(connection); // any node can resume it from now on
        Users.SyncUser(connection, quiet);
        engine.Subscriptions.Register(connection);
        if (quiet) return ConnectResult.Accepted(connection);
        counters.AddConnect();
        ConnectionEvents.Connected(connection);
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

    /// <summary>
    /// Removes a connection: its request ends, its slot is freed, the drop, unsubscribe and removed events fire.
    /// <paramref name="onlyIfDying"/>: not if a request attached since the caller saw it dying. False if not removed.
    /// </summary>
    internal bool Remove(CometConnection connection, DropReason reason, string? message = null, bool onlyIfDying = false)
    {
        if (!connection.MarkDropped(reason, message, onlyIfDying)) return false;
        // The store is written before this node lets go of the connection: once GetConnection here
        // says null, no node reads it as live (a kick confirmed here is a kick everywhere).
        // Away too long, or this node stopping: Comet4J's drop, but the client may still resume
        // (on another node, in a cluster) within the resume window.
        if (reason is DropReason.Expired or DropReason.Shutdown) Sessions.SaveSession(connection, away: true);
        else if (reason is DropReason.Server or DropReason.Overflow && backplane.Sessions.SharesSessions && connection.Dialect == CometDialect.V2)
            Kicked.KeepInStore(connection, message ?? reason.ToString()); // a client that comes back to another node is told, not resumed
        else backplane.Sessions.RemoveSession(connection.Id);
        if (registry.Remove(connection)) admission.Release(connection.ClientIp);
        if (reason is not (DropReason.Expired or DropReason.Shutdown) && backplane.Sessions.SharesSessions) backplane.Control.AnnounceGone(connection.Id);
        if (reason is DropReason.Server or DropReason.Overflow) Kicked.Remember(connection.Id, message ?? reason.ToString());
        counters.AddDrop();
        ConnectionEvents.Dropped(connection, reason, message);
        CometLog.ConnectionRemoved(engine.Logger, Options.ConnectionLogLevel(), connection.Id, reason);
        engine.Bus.Fire(new DropEvent(engine, connection, reason));
        engine.Subscriptions.Unregister(connection, reason);
        Users.SyncUser(connection);
        engine.Bus.Fire(new RemovedEvent(engine, connection, reason));
        return true;
    }


    /// <summary>Attaches a request to a connection and raises Revival if it was dying.</summary>
    /// <remarks><paramref name="tookOver"/>: the host already ran <see cref="TakeOverAsync"/>.</remarks>
    internal Attachment Attach(CometConnection connection, object? native, bool tookOver = false)
    {
        if (!tookOver && HandOver.Applies(connection)) HandOver.TakeOver(connection);
        var attachment = connection.Attach(native, out var revived);
        if (revived) engine.Bus.Fire(new RevivalEvent(engine, connection));
        return attachment;
    }

    /// <summary>Detaches a finished request and raises Dying if no newer one took over.</summary>
    internal void Detach(CometConnection connection, Attachment attachment)
    {
        if (connection.Detach(attachment, engine.Timestamp)) engine.Bus.Fire(new DyingEvent(engine, connection));
    }

    /// <summary>Removes connections dying longer than ConnExpires (unless a before-remove listener keeps them). Returns how many.</summary>
    internal int ExpireConnections()
    {
        Kicked.Expire();
        var removed = 0;
        var limit = TimeSpan.FromMilliseconds(Options.ConnExpires);
        foreach (var connection in registry.Enumerate())
        {
            if (connection.State != ConnectionState.Dying || engine.Elapsed(connection.DyingSince) <= limit) continue;
            var elsewhere = HandOver.HeldElsewhere(connection);
            if (elsewhere is null) continue; // the store does not answer: decide at a later tick, not by guessing
            // The store was asked without a lock: a revival may have attached a request here meanwhile, and keeps the connection.
            if (elsewhere == true)
            {
                HandOver.LetGo(connection, onlyIfDying: true);
                continue;
            }
            if (!engine.Bus.Fire(new BeforeRemoveEvent(engine, connection))) continue;
            if (!Remove(connection, DropReason.Expired, onlyIfDying: true)) continue;
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
            if (HandOver.HeldElsewhere(connection) == true) HandOver.LetGo(connection);
            else Remove(connection, DropReason.Shutdown);
        }
    }

    // The calls CometEngine.Host.cs makes, kept here under their names for it.

    /// <inheritdoc cref="KickedSessions.ReasonFor"/>
    internal string? KickedReason(string id) => Kicked.ReasonFor(id);

    /// <inheritdoc cref="KickedSessions.Remember"/>
    internal void RememberKicked(string id, string reason) => Kicked.Remember(id, reason);

    /// <inheritdoc cref="HandOver.TakeOverAsync"/>
    internal ValueTask TakeOverAsync(CometConnection connection) => HandOver.TakeOverAsync(connection);

    /// <inheritdoc cref="ConnectionSessions.TryFindSession"/>
    internal bool TryFindSession(string id, out SessionState? session) => Sessions.TryFindSession(id, out session);

    /// <inheritdoc cref="ConnectionSessions.SaveSessionAsync"/>
    internal ValueTask SaveSessionAsync(CometConnection connection) => Sessions.SaveSessionAsync(connection);

    /// <inheritdoc cref="ConnectionSessions.KeepSessions"/>
    internal void KeepSessions() => Sessions.KeepSessions();

    /// <inheritdoc cref="UserPresence.ExpireUsers"/>
    internal int ExpireUsers() => Users.ExpireUsers();
}
