using System.Collections.Concurrent;

namespace Comet4Net.Connections;

/// <summary>The connections this node holds, by id: O(1) lookup, lock-free enumeration.</summary>
internal sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<string, CometConnection> _byId = new(StringComparer.Ordinal);

    internal CometConnection? Find(string? id) => id is not null && _byId.TryGetValue(id, out var c) ? c : null;

    /// <summary>Holds a connection. Returns false if one with the same id is held already (a session resumed twice at once).</summary>
    internal bool TryAdd(CometConnection connection) => _byId.TryAdd(connection.Id, connection);

    /// <summary>Removes exactly this connection object (not a newer one with the same id). Returns false if it was not held.</summary>
    internal bool Remove(CometConnection connection) =>
        _byId.TryRemove(new KeyValuePair<string, CometConnection>(connection.Id, connection));

    /// <summary>A snapshot, for callers that keep it.</summary>
    internal CometConnection[] Snapshot() => _byId.Values.ToArray();

    /// <summary>Walks the connections without copying them (a connection added or removed meanwhile may or may not be seen).</summary>
    internal IEnumerable<CometConnection> Enumerate()
    {
        foreach (var (_, connection) in _byId) yield return connection;
    }
}
