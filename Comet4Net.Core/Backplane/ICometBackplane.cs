using Comet4Net.Delivery;

namespace Comet4Net.Backplane;

/// <summary>
/// The seam between one node's engine and the others: the shared log, the sessions a client can
/// resume from any node, and cluster-wide presence counts. <see cref="InMemoryBackplane"/> (the
/// default) is a cluster of one; <c>Comet4Net.Redis</c> shares all three through Redis.
/// </summary>
/// <remarks>
/// Fan-out stays local: every node keeps its own copy of the log, fed by <see cref="Start"/>'s
/// receiver, and writes to its own sockets. An implementation never calls back into the engine
/// other than through that receiver.
/// </remarks>
public interface ICometBackplane
{
    /// <summary>
    /// The identity of the shared log's numbering. It changes whenever the log lost what it held
    /// and numbering restarted (a process restart in memory, an emptied Redis), so that a client
    /// resuming with an old epoch is told of a gap instead of being matched against new numbers.
    /// </summary>
    string Epoch { get; }

    /// <summary>
    /// The highest sequence number handed out so far. A new log starts above every number an
    /// earlier log of another epoch handed out, so an old position is always before the log's start.
    /// </summary>
    long LastSequence { get; }

    /// <summary>
    /// True when other nodes read these sessions, so that a client's requests may land on any node:
    /// the node that serves a request then records itself as the session's holder.
    /// </summary>
    bool SharesSessions { get; }

    /// <summary>
    /// Connects this node: from now on <paramref name="receiver"/> gets every message appended by
    /// any node, this one included, once each, in sequence order, never two at a time. The node's
    /// log begins after <see cref="LastSequence"/> as read when this is called.
    /// </summary>
    void Start(IBackplaneReceiver receiver);

    /// <summary>
    /// Appends a message to the shared log: gives it the next sequence number (the numbering and
    /// the append are one atomic step, so numbers never reorder). The message takes its place in
    /// this node's order before this returns, so appends made one after another are numbered in that
    /// order whether or not the caller awaits them; it never blocks the caller on the network. The
    /// task completes with the numbered message once this node's receiver has it (number 0: the
    /// message was dropped, e.g. past a bound while the store was unreachable, and readers are told of a gap).
    /// </summary>
    ValueTask<CometMessage> AppendAsync(OutgoingMessage message);

    /// <summary>
    /// Stores what resuming a connection needs, kept for <paramref name="keepFor"/> after the last
    /// save or <see cref="KeepSessions"/>. The engine saves when a connection opens, when its
    /// subscriptions change and when it is dropped by expiry.
    /// </summary>
    void SaveSession(SessionState session, TimeSpan keepFor);

    /// <summary>Extends the sessions of the connections this node holds (called every ConnFrequency).</summary>
    void KeepSessions(IEnumerable<string> connectionIds, TimeSpan keepFor);

    /// <summary>The session with this connection id, or null if none is kept (never existed, dropped, or past its window).</summary>
    /// <exception cref="CometBackplaneUnavailableException">The store does not answer now: whether the session exists is unknown.</exception>
    SessionState? FindSession(string connectionId);

    /// <summary>
    /// <see cref="SaveSession"/> without holding a thread while the store answers: the host uses it on
    /// request paths. The default runs the synchronous call (right for a store in memory).
    /// </summary>
    ValueTask SaveSessionAsync(SessionState session, TimeSpan keepFor)
    {
        SaveSession(session, keepFor);
        return default;
    }

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

    /// <summary>
    /// The connections, with their users, that receive a channel across the cluster (as <see cref="Count"/>
    /// counts them), or null when the node's own connections are the whole answer (the default: one node).
    /// </summary>
    IReadOnlyList<ChannelMember>? Members(string channel, bool includeEveryChannel) => null;

    /// <summary>
    /// Takes out the entries of <paramref name="channels"/> whose node stopped keeping them (it died),
    /// each once across the cluster, and returns them; a connection with a live entry there (another
    /// node took it over) is not returned. The engine tells presence channels that they left. Called by
    /// the scheduler. The default has no such entries (one process).
    /// </summary>
    IReadOnlyList<(string Channel, ChannelMember Member)> ExpireMembers(IReadOnlyList<string> channels) => [];

    /// <summary>
    /// Every message numbered below <paramref name="seq"/> is older than CacheExpires (past every
    /// client's resume window): a shared log may let them go. Called by the scheduler after each trim of
    /// the node's own log. The default keeps nothing to trim.
    /// </summary>
    void TrimBefore(long seq) { }

    /// <summary>Records that a connection receives a channel (<see cref="Channels.ChannelCounts.EveryChannel"/>: every channel it is allowed).</summary>
    void Join(string channel, string connectionId, string? userId);

    /// <summary>Records that a connection no longer receives a channel. Returns false if it did not.</summary>
    bool Leave(string channel, string connectionId, string? userId);

    /// <summary>
    /// How many connections, and distinct users among them, receive a channel across the cluster;
    /// <paramref name="includeEveryChannel"/> adds the connections that receive every channel.
    /// </summary>
    ChannelCount Count(string channel, bool includeEveryChannel);

    // ------------------------------------------------------------------ users and kicks across nodes
    // Default implementations: a cluster of one, where the engine's own index answers.

    /// <summary>
    /// True when this backplane keeps the users of the whole cluster: the engine then asks it whether a
    /// user came online or went offline (so each fires once per cluster, not once per node) and who is online.
    /// </summary>
    bool TracksUsers => false;

    /// <summary>
    /// A connection of <paramref name="userId"/> is held by this node (it opened, or another node handed
    /// it over: <paramref name="handedOver"/>). This node keeps the entry alive until <see cref="UserLeft"/>.
    /// Returns true if it is the user's first connection in the cluster.
    /// </summary>
    bool UserJoined(string userId, string connectionId, bool handedOver) => false;

    /// <summary>
    /// A connection of <paramref name="userId"/> is no longer held by this node: it left for good, or
    /// another node serves it now (<paramref name="handedOver"/>: this node only stops keeping the entry).
    /// Returns true if it was the user's last connection in the cluster.
    /// </summary>
    bool UserLeft(string userId, string connectionId, bool handedOver) => false;

    /// <summary>
    /// Users whose every connection was held by a node that stopped keeping it (the node died): each
    /// such user is returned once, to one node, which raises their offline event. Called by the scheduler.
    /// </summary>
    IReadOnlyList<string> ExpireUsers() => [];

    /// <summary>The users with a connection anywhere in the cluster (when <see cref="TracksUsers"/>).</summary>
    IReadOnlyCollection<string> Users() => [];

    /// <summary>
    /// Asks the other nodes to kick the connection <paramref name="connectionId"/>, or every connection
    /// of <paramref name="userId"/>, that they hold (their receivers' <see cref="IBackplaneReceiver.Kick"/>).
    /// </summary>
    void RequestKick(string? connectionId, string? userId, string? reason) { }

    /// <summary>
    /// Tells the other nodes that this node ended the connection for good (a drop or a kick of a
    /// connection handed over to it): a copy they kept from serving it earlier goes quietly, without a second drop event.
    /// </summary>
    void AnnounceGone(string connectionId) { }
}

/// <summary>Calls from the backplane into one node.</summary>
public interface IBackplaneReceiver
{
    /// <summary>A message of the shared log, in sequence order: the node files it for its connections.</summary>
    void Receive(CometMessage message);

    /// <summary>Another node asks this one to kick a connection it holds, or every connection of a user.</summary>
    void Kick(string? connectionId, string? userId, string? reason) { }

    /// <summary>Another node ended this connection for good: a copy this node kept goes quietly.</summary>
    void Forget(string connectionId) { }
}

/// <summary>How many connections, and distinct users among them, receive a channel.</summary>
public readonly record struct ChannelCount(int Connections, int Users);

/// <summary>A connection that receives a channel, and its user (null if none).</summary>
public readonly record struct ChannelMember(string ConnectionId, string? UserId);
