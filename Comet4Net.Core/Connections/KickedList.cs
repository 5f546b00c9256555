using System.Collections.Concurrent;

namespace Comet4Net.Connections;

/// <summary>
/// Connections the server ended recently, with the reason, so that a client coming back is told it
/// was ended (and does not reconnect) rather than invited to connect again. Kept two minutes.
/// </summary>
internal sealed class KickedList(TimeProvider time)
{
    internal static readonly TimeSpan KeepFor = TimeSpan.FromMinutes(2);
    private readonly ConcurrentDictionary<string, (string Reason, long Until)> _kicked = new(StringComparer.Ordinal);

    internal void Add(string connectionId, string reason) =>
        _kicked[connectionId] = (reason, time.GetTimestamp() + (long)(KeepFor.TotalSeconds * time.TimestampFrequency));

    internal string? ReasonFor(string connectionId) => _kicked.TryGetValue(connectionId, out var k) ? k.Reason : null;

    internal void Expire()
    {
        var now = time.GetTimestamp();
        foreach (var (id, kicked) in _kicked)
        {
            if (kicked.Until < now) _kicked.TryRemove(id, out _);
        }
    }
}
