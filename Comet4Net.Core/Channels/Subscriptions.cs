using Comet4Net.Backplane;
using Comet4Net.Delivery;
using Comet4Net.Events;
using Newtonsoft.Json;

namespace Comet4Net.Channels;

/// <summary>
/// Which channels each connection receives, the counts kept per channel (through the backplane,
/// so they are cluster-wide), and the join/leave notices of presence channels.
/// </summary>
internal sealed class Subscriptions(CometEngine engine, IPresenceStore presence, ChannelHistory history)
{
    /// <summary>
    /// Makes a connection listen on <paramref name="channel"/> from now on, if the subscribe
    /// listeners agree. Returns up to <paramref name="max"/> messages of the channel's history that
    /// came before, oldest first (with the live messages after them: no gap, no duplicate), or null if refused.
    /// </summary>
    internal List<CometMessage>? Subscribe(CometConnection connection, string channel, int max)
    {
        if (!engine.Bus.Fire(new SubscribeEvent(engine, connection, channel))) return null;
        var added = false;
        var wasEveryChannel = false;
        var past = history.Snapshot(channel, max, last =>
        {
            lock (connection.Sync)
            {
                var subscriptions = connection.Subscriptions;
                wasEveryChannel = subscriptions is null;
                subscriptions ??= ChannelStarts.Empty;
                if (subscriptions.TryGetValue(channel, out var start)) return start;
                connection.Subscriptions = subscriptions.Set(channel, last);
                added = true;
                return last;
            }
        });
        if (added && connection.Registered)
        {
            if (wasEveryChannel) presence.Leave(ChannelCounts.EveryChannel, connection.Id, connection.UserId);
            presence.Join(channel, connection.Id, connection.UserId);
            engine.Lifecycle.Sessions.SaveSession(connection);
            Notice(connection, channel, "join");
        }
        return past;
    }

    /// <summary>Stops a connection listening on a channel. Returns false if it was not.</summary>
    internal bool Unsubscribe(CometConnection connection, string channel)
    {
        lock (connection.Sync)
        {
            if (connection.Subscriptions is not { } subscriptions || !subscriptions.ContainsKey(channel)) return false;
            connection.Subscriptions = subscriptions.Without(channel);
        }
        presence.Leave(channel, connection.Id, connection.UserId);
        if (connection.Registered && connection.State != ConnectionState.Dropped) engine.Lifecycle.Sessions.SaveSession(connection);
        engine.Bus.Fire(new UnsubscribeEvent(engine, connection, channel));
        Notice(connection, channel, "leave");
        return true;
    }

    /// <summary>Counts a newly registered connection on the channels it receives.</summary>
    internal void Register(CometConnection connection)
    {
        if (connection.Subscriptions is not { } subscribed)
        {
            presence.Join(ChannelCounts.EveryChannel, connection.Id, connection.UserId);
            return;
        }
        foreach (var channel in subscribed.Keys) presence.Join(channel, connection.Id, connection.UserId);
    }

    /// <summary>After the connect event: the presence notices of the channels named at connect (their subscribe listeners already agreed).</summary>
    internal void Announce(CometConnection connection)
    {
        if (connection.Subscriptions is not { } initial) return;
        foreach (var channel in initial.Keys) Notice(connection, channel, "join");
    }

    /// <summary>Takes a removed connection off every channel it received (<paramref name="quiet"/>: off the counts only, no events).</summary>
    internal void Unregister(CometConnection connection, DropReason reason, bool quiet = false)
    {
        presence.Leave(ChannelCounts.EveryChannel, connection.Id, connection.UserId);
        if (connection.Subscriptions is not { } subscribed) return;
        foreach (var channel in subscribed.Keys)
        {
            presence.Leave(channel, connection.Id, connection.UserId);
            if (quiet) continue;
            engine.Bus.Fire(new UnsubscribeEvent(engine, connection, channel));
            if (reason != DropReason.Shutdown) Notice(connection, channel, "leave");
        }
    }

    /// <summary>Recounts a connection under its new user on every channel it receives.</summary>
    internal void MoveUser(CometConnection connection, string? oldUser, string? newUser)
    {
        IEnumerable<string> channels = connection.Subscriptions?.Keys ?? (IEnumerable<string>)[ChannelCounts.EveryChannel];
        foreach (var channel in channels)
        {
            if (presence.Leave(channel, connection.Id, oldUser)) presence.Join(channel, connection.Id, newUser);
        }
    }

    /// <summary>How many connections, and distinct users among them, receive a channel now.</summary>
    internal ChannelCount Count(string channel) => presence.Count(channel, includeEveryChannel: true);

    /// <summary>
    /// The entries of connections whose node died (it stopped keeping them): out of the counts, and on a
    /// presence channel a leave notice, sent by whichever node found them first. The scheduler calls it.
    /// </summary>
    internal int ExpireMembers()
    {
        if (!engine.Backplane.Sessions.SharesSessions) return 0;
        var gone = presence.ExpireMembers([.. engine.Context.Channels, ChannelCounts.EveryChannel]);
        foreach (var (channel, member) in gone) Notice(channel, member.ConnectionId, member.UserId, "leave");
        return gone.Count;
    }

    /// <summary>On a presence channel, tells the subscribers who joined or left, with the new counts.</summary>
    private void Notice(CometConnection connection, string channel, string what) => Notice(channel, connection.Id, connection.UserId, what);

    private void Notice(string channel, string connectionId, string? userId, string what)
    {
        if (engine.Context.GetChannelOptions(channel) is not { Presence: true }) return;
        var count = Count(channel);
        engine.Sender.NumberNow(engine.Sender.Broadcast(channel, what, JsonConvert.SerializeObject(new Dictionary<string, object?>
        {
            ["user"] = userId,
            ["cId"] = connectionId,
            ["connections"] = count.Connections,
            ["users"] = count.Users,
        }), null));
    }
}
