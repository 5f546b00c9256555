namespace Comet4Net.Backplane;

/// <summary>
/// Presence and users (centrifuge's PresenceManager): who receives each channel and which users are
/// online, across the cluster.
/// </summary>
/// <remarks>
/// Guarantee: a node's entries count until it says they left or stops keeping them
/// (<see cref="KeepEntries"/>); a dead node's entries leave by themselves, each reported once across
/// the cluster (<see cref="ExpireMembers"/>, <see cref="ExpireUsers"/>). <see cref="Join"/> and
/// <see cref="Leave"/> never wait for the network. The defaults are a cluster of one, where the
/// engine's own index answers users.
/// </remarks>
public interface IPresenceStore
{
    /// <summary>Records that a connection receives a channel (<see cref="Channels.ChannelCounts.EveryChannel"/>: every channel it is allowed).</summary>
    void Join(string channel, string connectionId, string? userId);

    /// <summary>Records that a connection no longer receives a channel. Returns false if it did not.</summary>
    bool Leave(string channel, string connectionId, string? userId);

    /// <summary>
    /// How many connections, and distinct users among them, receive a channel across the cluster;
    /// <paramref name="includeEveryChannel"/> adds the connections that receive every channel.
    /// </summary>
    ChannelCount Count(string channel, bool includeEveryChannel);

    /// <summary>
    /// The connections, with their users, that receive a channel across the cluster (as <see cref="Count"/>
    /// counts them), or null when the node's own connections are the whole answer (the default: one node).
    /// </summary>
    IReadOnlyList<ChannelMember>? Members(string channel, bool includeEveryChannel) => null;

    /// <summary>Extends this node's entries (called every ConnFrequency); never waits for the network. The default keeps nothing.</summary>
    void KeepEntries() { }

    /// <summary>
    /// Takes out the entries of <paramref name="channels"/> whose node stopped keeping them (it died),
    /// each once across the cluster, and returns them; a connection with a live entry there (another
    /// node took it over) is not returned. The engine tells presence channels that they left. Called by
    /// the scheduler. The default has no such entries (one process).
    /// </summary>
    IReadOnlyList<(string Channel, ChannelMember Member)> ExpireMembers(IReadOnlyList<string> channels) => [];

    /// <summary>
    /// True when this store keeps the users of the whole cluster: the engine then asks it whether a
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
}
