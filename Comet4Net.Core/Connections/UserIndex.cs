using System.Collections.Concurrent;

namespace Comet4Net.Connections;

/// <summary>The users with connections on this node, each with its connections: O(1) by user.</summary>
internal sealed class UserIndex
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, CometConnection>> _users = new(StringComparer.Ordinal);
    private readonly object _sync = new();

    internal int Count => _users.Count;

    internal string[] Users => _users.Keys.ToArray();

    internal CometConnection[] ConnectionsOf(string? userId) =>
        userId is not null && _users.TryGetValue(userId, out var set) ? set.Values.ToArray() : [];

    /// <summary>
    /// Moves a connection from <paramref name="oldUser"/> to <paramref name="newUser"/> (either may be null).
    /// Says whether the old user just went offline and whether the new one just came online.
    /// </summary>
    internal (bool WentOffline, bool CameOnline) Move(CometConnection connection, string? oldUser, string? newUser)
    {
        var wentOffline = false;
        var cameOnline = false;
        lock (_sync)
        {
            if (oldUser is not null && _users.TryGetValue(oldUser, out var oldSet)
                && oldSet.TryRemove(connection.Id, out _) && oldSet.IsEmpty)
            {
                _users.TryRemove(oldUser, out _);
                wentOffline = true;
            }
            if (newUser is not null && connection.State != ConnectionState.Dropped)
            {
                var set = _users.GetOrAdd(newUser, static _ => new ConcurrentDictionary<string, CometConnection>(StringComparer.Ordinal));
                cameOnline = set.IsEmpty;
                set[connection.Id] = connection;
            }
        }
        return (wentOffline, cameOnline);
    }
}
