using Comet4Net.Backplane;

namespace Comet4Net.Channels;

/// <summary>
/// Who receives each channel, with the counts kept as connections come and go (never recounted
/// over every connection). Thread-safe; one short lock for all channels.
/// </summary>
public sealed class ChannelCounts
{
    /// <summary>The pseudo-channel of connections that receive every channel they are allowed.</summary>
    public const string EveryChannel = "*";

    private readonly Dictionary<string, Members> _channels = new(StringComparer.Ordinal);

    /// <summary>Adds a connection to a channel. Returns false if it was there already.</summary>
    public bool Join(string channel, string connectionId, string? userId)
    {
        lock (_channels)
        {
            if (!_channels.TryGetValue(channel, out var members)) _channels[channel] = members = new Members();
            if (!members.Connections.Add(connectionId)) return false;
            if (userId is not null) members.Users[userId] = members.Users.GetValueOrDefault(userId) + 1;
            return true;
        }
    }

    /// <summary>Removes a connection from a channel. Returns false if it was not there.</summary>
    public bool Leave(string channel, string connectionId, string? userId)
    {
        lock (_channels)
        {
            if (!_channels.TryGetValue(channel, out var members) || !members.Connections.Remove(connectionId)) return false;
            if (userId is not null && members.Users.TryGetValue(userId, out var n))
            {
                if (n <= 1) members.Users.Remove(userId); else members.Users[userId] = n - 1;
            }
            if (members.Connections.Count == 0) _channels.Remove(channel);
            return true;
        }
    }

    /// <summary>Connections and distinct users on a channel, plus (if asked) those on every channel.</summary>
    public ChannelCount Count(string channel, bool includeEveryChannel)
    {
        lock (_channels)
        {
            _channels.TryGetValue(channel, out var own);
            var every = includeEveryChannel && channel != EveryChannel ? _channels.GetValueOrDefault(EveryChannel) : null;
            var connections = (own?.Connections.Count ?? 0) + (every?.Connections.Count ?? 0);
            if (own is null || every is null) return new ChannelCount(connections, (own ?? every)?.Users.Count ?? 0);
            var (small, large) = own.Users.Count <= every.Users.Count ? (own, every) : (every, own);
            var users = large.Users.Count;
            foreach (var user in small.Users.Keys) if (!large.Users.ContainsKey(user)) users++;
            return new ChannelCount(connections, users);
        }
    }

    private sealed class Members
    {
        internal readonly HashSet<string> Connections = new(StringComparer.Ordinal);
        internal readonly Dictionary<string, int> Users = new(StringComparer.Ordinal);
    }
}
