using System.Diagnostics.Metrics;
using Comet4Net.Backplane;
using Comet4Net.Channels;
using Comet4Net.Connections;
using Comet4Net.Delivery;
using Comet4Net.Diagnostics;
using Comet4Net.Events;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Comet4Net;

/// <summary>
/// The engine: holds the connections, sends messages (<see cref="SendTo(string, CometConnection, object?)"/>,
/// <see cref="SendToAll(string, object?)"/>) and raises the connection events. Get it from
/// <see cref="CometContext.Engine"/> (or <c>CometContext.Instance.Engine</c> in code ported from Comet4J).
/// </summary>
/// <remarks>
/// A thin facade over the engine's parts: connections (registry, admission, users, lifecycle),
/// channels (subscriptions, history, client publishing), delivery (sender, local log, reader) and
/// the backplane that numbers every message. See docs/architecture.md.
/// </remarks>
public sealed partial class CometEngine
{
    private readonly ConnectionRegistry _registry = new();
    private readonly UserIndex _users = new();
    private readonly Admission _admission;

    internal CometEngine(CometContext context, TimeProvider time, ILogger? logger, ICometBackplane? backplane = null, IMeterFactory? meterFactory = null)
    {
        Context = context;
        Time = time;
        Logger = logger ?? NullLogger.Instance;
        Bus = new EventBus(Logger);
        Backplane = backplane ?? new InMemoryBackplane(time);
        _admission = new Admission(context.Options, context.Tokens, Counters);
        var history = new ChannelHistory(context, time);
        History = history;
        Delivery = new LocalDelivery(context.Options, _registry, _users, history, Counters, NodeId);
        Reader = new DeliveryReader(Delivery.Log, Counters);
        Sender = new MessageSender(this, Backplane.Log, Delivery, Counters);
        Subscriptions = new Subscriptions(this, Backplane.Presence, history);
        Publishing = new ClientPublishing(this);
        Lifecycle = new ConnectionLifecycle(this, _registry, _admission, _users, new KickedList(time), Backplane, Counters);
        Metrics = new CometMetrics(this, meterFactory);
        Access = new ChannelAccess(this);
        Delivery.Begin(Backplane.Log.LastSequence);
        Delivery.OnKick = KickHere;
        Delivery.OnForget = Lifecycle.HandOver.Forget;
        Delivery.OnOverflows = HandleReceivedOverflows;
        Backplane.Log.Start(Delivery);
        Backplane.Control.Start(Delivery);
    }

    /// <summary>The overflows of messages filed from other nodes, on the thread pool: a failure is logged, never thrown there.</summary>
    private void HandleReceivedOverflows()
    {
        try
        {
            Sender.HandleOverflows();
        }
        catch (Exception e)
        {
            CometLog.OverflowsFailed(Logger, e);
        }
    }

    /// <summary>This engine's name among the nodes sharing a backplane (random, new at every start).</summary>
    public string NodeId { get; } = ConnectionIds.NewId()[..12];

    /// <summary>The engine's <c>Comet4Net</c> meter.</summary>
    public CometMetrics Metrics { get; }

    /// <summary>The context that owns the engine.</summary>
    public CometContext Context { get; }

    /// <summary>The seam to the other nodes (an <see cref="InMemoryBackplane"/> unless the host set one).</summary>
    public ICometBackplane Backplane { get; }

    internal CometOptions Options => Context.Options;
    internal TimeProvider Time { get; }
    internal ILogger Logger { get; }
    internal EventBus Bus { get; }
    internal EngineCounters Counters { get; } = new();
    internal LocalDelivery Delivery { get; }
    internal DeliveryReader Reader { get; }
    internal MessageSender Sender { get; }
    internal ChannelHistory History { get; }
    internal Subscriptions Subscriptions { get; }
    internal ClientPublishing Publishing { get; }
    internal ChannelAccess Access { get; }
    internal ConnectionLifecycle Lifecycle { get; }

    /// <summary>The current time in milliseconds since 1970, as frames carry it.</summary>
    internal long NowMs => Time.GetUtcNow().ToUnixTimeMilliseconds();
    internal long Timestamp => Time.GetTimestamp();
    internal TimeSpan Elapsed(long since) => Time.GetElapsedTime(since);

    // ------------------------------------------------------------------ connections

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
    /// <remarks>While the backplane's store does not answer, a connection held by another node is reported as not existing.</remarks>
    public bool ConnectionExists(string? id) =>
        id is not null && (GetConnection(id) is not null
            || Backplane.Sessions.SharesSessions && Lifecycle.Sessions.TryFindSession(id, out var session) && session is { Away: false });

    /// <summary>
    /// True if <paramref name="id"/> names a connection open on this node or, on a shared backplane, on any
    /// node (as <see cref="ConnectionExists"/>), and the caller proves it holds it: for a v2 connection,
    /// <paramref name="secret"/> is the connection's secret (the <c>cs</c> its client was given, in the page
    /// <c>JS.Engine.getConnector().cs</c>). A legacy (Comet4J) connection has no secret: its id is the only proof.
    /// Use it before acting in a connection's name on a request of the application's own.
    /// </summary>
    /// <remarks>While the backplane's store does not answer, a connection held by another node is reported as not held.</remarks>
    public bool IsConnectionOwner(string? id, string? secret)
    {
        if (id is null) return false;
        if (GetConnection(id) is { } local) return local.Dialect != CometDialect.V2 || ConnectionIds.SecretMatches(secret, local.Secret);
        return Backplane.Sessions.SharesSessions && Lifecycle.Sessions.TryFindSession(id, out var session) && session is { Away: false }
            && (session.Dialect != CometDialect.V2 || ConnectionIds.SecretMatches(secret, session.Secret));
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
        return Lifecycle.Drop(connection, DropReason.Server, reason ?? Options.Text("kicked by the server", "被服务器断开"));
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

    // ------------------------------------------------------------------ users

    /// <summary>How many users have at least one connection (on every node, on a backplane that keeps users).</summary>
    public int UserCount => Backplane.Presence.TracksUsers ? Users.Count : _users.Count;

    /// <summary>The users with at least one connection, on every node on a backplane that keeps users (a snapshot).</summary>
    public IReadOnlyCollection<string> Users => Backplane.Presence.TracksUsers ? Backplane.Presence.Users() : _users.Users;

    /// <summary>The connections of a user held by this node (a snapshot; empty if none).</summary>
    public IReadOnlyList<CometConnection> GetConnections(string userId) => _users.ConnectionsOf(userId);

    // ------------------------------------------------------------------ sending

    // Every send takes its place in this node's send order when it is called, so sends made one after
    // another (synchronous and asynchronous mixed) are numbered in that order. The synchronous calls
    // never wait for the network: they queue and return at once. The asynchronous ones complete when
    // the message is numbered (in the shared log, and in this node's copy of it).

    /// <summary>
    /// Sends <paramref name="data"/> on <paramref name="channel"/> to every connection, present and
    /// dying. Never waits for a client nor for the network: the message is queued in order and this
    /// returns at once. Returns its sequence number if the backplane numbered it already (the default
    /// in-memory backplane always has), 0 if a message listener cancelled it or it is not numbered yet
    /// (on Redis: it goes out, in order, when Redis answers; <see cref="SendToAllAsync(string, object?)"/> gives the number).
    /// </summary>
    public long SendToAll(string channel, object? data) => SendToAll(channel, null, data);

    /// <summary>
    /// Sends an event within a channel to every connection (CppComet's <c>channel.event</c>): pages
    /// listen with <c>JS.Engine.on('chat.typing', fn)</c>. Returns as <see cref="SendToAll(string, object?)"/>.
    /// </summary>
    public long SendToAll(string channel, string? eventName, object? data) =>
        BroadcastNow(channel, eventName, data) is { } appended ? Sender.NumberNow(appended) : 0;

    /// <summary>
    /// Sends to every connection as <see cref="SendToAll(string, object?)"/>, without holding a thread:
    /// completes when the message is numbered, with its sequence number (0 if a message listener
    /// cancelled it, or it was dropped while it waited for an unreachable backplane, past its bound).
    /// </summary>
    public Task<long> SendToAllAsync(string channel, object? data) => SendToAllAsync(channel, null, data);

    /// <summary>Sends an event within a channel to every connection; completes as <see cref="SendToAllAsync(string, object?)"/>.</summary>
    public async Task<long> SendToAllAsync(string channel, string? eventName, object? data) =>
        BroadcastNow(channel, eventName, data) is { } appended ? (await appended.ConfigureAwait(false)).Seq : 0;

    /// <summary>Checks, serialises, asks the message listeners and queues the broadcast; null if cancelled.</summary>
    private ValueTask<CometMessage>? BroadcastNow(string channel, string? eventName, object? data)
    {
        CheckChannel(channel);
        if (eventName is not null) CheckChannel(eventName);
        var json = Sender.Serialize(data);
        if (!Bus.Fire(new MessageEvent(this, null, channel, data))) return null;
        return Sender.Broadcast(channel, eventName, json, null);
    }

    /// <summary>Sends to one connection. Returns false if it is gone or a message listener cancelled the send.</summary>
    public bool SendTo(string channel, CometConnection connection, object? data)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return SendTo(channel, [connection], data) == 1;
    }

    /// <summary><see cref="SendTo(string, CometConnection, object?)"/>, completing when the message is numbered.</summary>
    public async Task<bool> SendToAsync(string channel, CometConnection connection, object? data)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return await SendToAsync(channel, [connection], data).ConfigureAwait(false) == 1;
    }

    /// <summary>
    /// Sends to the connection with this id. A connection that is away (dropped after ConnExpires,
    /// its session kept for resume) gets the message when it comes back. Returns false if the id
    /// is neither held nor kept, or a message listener cancelled the send.
    /// </summary>
    /// <remarks>
    /// Never waits for the network: on a backplane shared by several nodes, an id this node does not
    /// hold is not looked up (that would wait for the store); the message is queued for it and this
    /// returns true. Only a session that exists receives it. <see cref="SendToAsync(string, string, object?)"/> looks it up.
    /// </remarks>
    public bool SendTo(string channel, string connectionId, object? data)
    {
        if (GetConnection(connectionId) is { } connection) return SendTo(channel, connection, data);
        CheckChannel(channel);
        if (connectionId is null || !ConnectionIds.IsValid(connectionId)) return false;
        if (!Backplane.Sessions.SharesSessions && Lifecycle.Sessions.TryFindSession(connectionId, out var session) && session is null or { Kicked: not null }) return false;
        if (Sender.SendAway(channel, connectionId, data) is not { } appended) return false;
        Sender.NumberNow(appended);
        return true;
    }

    /// <summary>
    /// <see cref="SendTo(string, string, object?)"/>, completing when the message is numbered. An id this
    /// node does not hold is looked up in the session store (without holding a thread): false if no
    /// session is kept for it. A store that does not answer cannot say the session is gone: the message
    /// is kept (it waits with the other sends) rather than lost.
    /// </summary>
    public async Task<bool> SendToAsync(string channel, string connectionId, object? data)
    {
        if (GetConnection(connectionId) is { } connection) return await SendToAsync(channel, connection, data).ConfigureAwait(false);
        CheckChannel(channel);
        if (connectionId is null || !ConnectionIds.IsValid(connectionId)) return false;
        try
        {
            if (await Backplane.Sessions.FindSessionAsync(connectionId).ConfigureAwait(false) is null or { Kicked: not null }) return false;
        }
        catch (CometBackplaneUnavailableException)
        {
        }
        if (Sender.SendAway(channel, connectionId, data) is not { } appended) return false;
        await appended.ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Sends one message to several connections: stored once, queued for each. Returns how many
    /// connections it was queued for. Never waits for the network.
    /// </summary>
    public int SendTo(string channel, IEnumerable<CometConnection> connections, object? data)
    {
        ArgumentNullException.ThrowIfNull(connections);
        CheckChannel(channel);
        var (reached, appended) = Sender.SendPrivate(channel, connections, data);
        if (reached > 0) Sender.NumberNow(appended);
        return reached;
    }

    /// <summary><see cref="SendTo(string, IEnumerable{CometConnection}, object?)"/>, completing when the message is numbered.</summary>
    public async Task<int> SendToAsync(string channel, IEnumerable<CometConnection> connections, object? data)
    {
        ArgumentNullException.ThrowIfNull(connections);
        CheckChannel(channel);
        var (reached, appended) = Sender.SendPrivate(channel, connections, data);
        if (reached > 0) await appended.ConfigureAwait(false);
        return reached;
    }

    /// <summary>
    /// Sends to every connection of a user, on every node; the message is stored once, and a session
    /// of the user that resumes within the resume window gets it too. Returns how many of this node's
    /// connections it was queued for now (message listeners run for those). Never waits for the network.
    /// </summary>
    public int SendToUser(string userId, string channel, object? data)
    {
        ArgumentNullException.ThrowIfNull(userId);
        CheckChannel(channel);
        var (reached, appended) = Sender.SendPrivate(channel, GetConnections(userId), data, userId);
        Sender.NumberNow(appended);
        return reached;
    }

    /// <summary><see cref="SendToUser"/>, completing when the message is numbered.</summary>
    public async Task<int> SendToUserAsync(string userId, string channel, object? data)
    {
        ArgumentNullException.ThrowIfNull(userId);
        CheckChannel(channel);
        var (reached, appended) = Sender.SendPrivate(channel, GetConnections(userId), data, userId);
        await appended.ConfigureAwait(false);
        return reached;
    }

    // ------------------------------------------------------------------ channels

    /// <summary>
    /// Makes a v2 connection listen on <paramref name="channel"/>, from now on. Returns up to
    /// <paramref name="history"/> messages of the channel's history that came before, oldest first:
    /// with the live messages after them there is no gap and no duplicate. Returns null if a
    /// subscribe listener refused.
    /// </summary>
    public IReadOnlyList<CometMessage>? Subscribe(CometConnection connection, string channel, int history = 0)
    {
        ArgumentNullException.ThrowIfNull(connection);
        CheckChannel(channel);
        return Subscriptions.Subscribe(connection, channel, history);
    }

    /// <summary>Stops a connection listening on a channel. Returns false if it was not.</summary>
    public bool Unsubscribe(CometConnection connection, string channel)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return Subscriptions.Unsubscribe(connection, channel);
    }

    /// <summary>How many connections, and how many distinct users among them, receive a channel now.</summary>
    public (int Connections, int Users) GetChannelCounts(string channel)
    {
        var count = Subscriptions.Count(channel);
        return (count.Connections, count.Users);
    }

    /// <summary>
    /// The connections that receive a channel now, each with its user: on every node on a backplane
    /// shared by several (what presence lists), else this node's. Counted as <see cref="GetChannelCounts"/> counts.
    /// </summary>
    public IReadOnlyList<ChannelMember> GetChannelMembers(string channel)
    {
        CheckChannel(channel);
        if (Backplane.Presence.Members(channel, includeEveryChannel: true) is { } cluster) return cluster;
        var members = new List<ChannelMember>();
        foreach (var c in _registry.Enumerate())
        {
            if (c.State == ConnectionState.Dropped) continue;
            if (c.Subscriptions is { } named ? named.ContainsKey(channel) : true) members.Add(new ChannelMember(c.Id, c.UserId));
        }
        return members;
    }

    /// <summary>The last messages kept as a channel's history (oldest first), at most <paramref name="max"/>.</summary>
    public IReadOnlyList<CometMessage> GetHistory(string channel, int max = int.MaxValue) => History.Get(channel, max);

    /// <summary>Forgets a channel's history. Returns how many messages it held.</summary>
    public int ClearHistory(string channel) => History.Clear(channel);

    // ------------------------------------------------------------------ statistics

    /// <summary>What the engine holds and has done since it started.</summary>
    public CometStatistics GetStatistics()
    {
        var byStyle = new Dictionary<string, int>(StringComparer.Ordinal);
        var dying = 0;
        foreach (var c in _registry.Enumerate())
        {
            byStyle[c.WorkStyle] = byStyle.GetValueOrDefault(c.WorkStyle) + 1;
            if (c.State == ConnectionState.Dying) dying++;
        }
        var log = Delivery.Log;
        var c2 = Counters;
        return new CometStatistics(ConnectionCount, dying, byStyle, log.Count, log.Bytes, log.LastSeq,
            c2.Connects, c2.Drops, c2.Expired, c2.Sent, c2.Frames, c2.BytesWritten, c2.Gaps, c2.LimitHits, c2.PendingDropped, c2.LogTrimmed);
    }

    internal static void CheckChannel(string channel)
    {
        if (!CometContext.IsValidChannelName(channel))
            throw new ArgumentException(
                $"'{channel}' is not a valid channel name: use 1 to 64 characters from A-Z a-z 0-9 _ . -", nameof(channel));
    }
}
