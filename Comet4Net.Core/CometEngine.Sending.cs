using Comet4Net.Backplane;
using Comet4Net.Connections;
using Comet4Net.Delivery;
using Comet4Net.Diagnostics;
using Comet4Net.Events;

namespace Comet4Net;

/// <summary>Sending: to everyone, to connections, to a user; each synchronous call with its Async form.</summary>
public sealed partial class CometEngine
{
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
    public long SendToAll(string channel, string? eventName, object? data)
    {
        using var span = CometTracing.StartSend("broadcast", channel);
        var seq = BroadcastNow(channel, eventName, data) is { } appended ? Sender.NumberNow(appended) : 0;
        CometTracing.Numbered(span, seq);
        return seq;
    }

    /// <summary>
    /// Sends to every connection as <see cref="SendToAll(string, object?)"/>, without holding a thread:
    /// completes when the message is numbered, with its sequence number (0 if a message listener
    /// cancelled it, or it was dropped while it waited for an unreachable backplane, past its bound).
    /// </summary>
    public Task<long> SendToAllAsync(string channel, object? data) => SendToAllAsync(channel, null, data);

    /// <summary>Sends an event within a channel to every connection; completes as <see cref="SendToAllAsync(string, object?)"/>.</summary>
    public async Task<long> SendToAllAsync(string channel, string? eventName, object? data)
    {
        using var span = CometTracing.StartSend("broadcast", channel);
        var seq = BroadcastNow(channel, eventName, data) is { } appended ? (await appended.ConfigureAwait(false)).Seq : 0;
        CometTracing.Numbered(span, seq);
        return seq;
    }

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
        using var span = CometTracing.StartSend("away", channel);
        if (Sender.SendAway(channel, connectionId, data) is not { } appended) return false;
        CometTracing.Numbered(span, Sender.NumberNow(appended));
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
        using var span = CometTracing.StartSend("away", channel);
        if (Sender.SendAway(channel, connectionId, data) is not { } appended) return false;
        CometTracing.Numbered(span, (await appended.ConfigureAwait(false)).Seq);
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
        using var span = CometTracing.StartSend("connections", channel);
        var (reached, appended) = Sender.SendPrivate(channel, connections, data);
        if (reached > 0) CometTracing.Numbered(span, Sender.NumberNow(appended));
        return reached;
    }

    /// <summary><see cref="SendTo(string, IEnumerable{CometConnection}, object?)"/>, completing when the message is numbered.</summary>
    public async Task<int> SendToAsync(string channel, IEnumerable<CometConnection> connections, object? data)
    {
        ArgumentNullException.ThrowIfNull(connections);
        CheckChannel(channel);
        using var span = CometTracing.StartSend("connections", channel);
        var (reached, appended) = Sender.SendPrivate(channel, connections, data);
        if (reached > 0) CometTracing.Numbered(span, (await appended.ConfigureAwait(false)).Seq);
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
        using var span = CometTracing.StartSend("user", channel);
        var (reached, appended) = Sender.SendPrivate(channel, GetConnections(userId), data, userId);
        CometTracing.Numbered(span, Sender.NumberNow(appended));
        return reached;
    }

    /// <summary><see cref="SendToUser"/>, completing when the message is numbered.</summary>
    public async Task<int> SendToUserAsync(string userId, string channel, object? data)
    {
        ArgumentNullException.ThrowIfNull(userId);
        CheckChannel(channel);
        using var span = CometTracing.StartSend("user", channel);
        var (reached, appended) = Sender.SendPrivate(channel, GetConnections(userId), data, userId);
        CometTracing.Numbered(span, (await appended.ConfigureAwait(false)).Seq);
        return reached;
    }
}
