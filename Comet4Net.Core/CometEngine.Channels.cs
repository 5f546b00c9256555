using Comet4Net.Backplane;
using Comet4Net.Delivery;

namespace Comet4Net;

/// <summary>Channels: subscriptions, who receives a channel, its history.</summary>
public sealed partial class CometEngine
{
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
}
