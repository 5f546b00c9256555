using System.Collections.Concurrent;

namespace Comet4Net;

/// <summary>
/// A node that drains (its host is stopping): it accepts no new connections and tells the ones it
/// holds to move, one at a time (the host's drain), before it ends what is left.
/// </summary>
public sealed partial class CometEngine
{
    private volatile ConcurrentDictionary<string, byte>? _moved; // made when the drain begins: nothing per connection before

    /// <summary>True once the node began to drain (its host is stopping): new connections are refused with "go elsewhere".</summary>
    public bool IsDraining => _moved is not null;

    /// <summary>True while the node accepts new connections: not <see cref="IsDraining"/>.</summary>
    public bool IsAccepting => !IsDraining;

    /// <summary>Begins the drain. False if it had begun.</summary>
    internal bool BeginDrain() => Interlocked.CompareExchange(ref _moved, new ConcurrentDictionary<string, byte>(StringComparer.Ordinal), null) is null;

    /// <summary>
    /// Tells the connection to move: its held request ends (the host writes its last frame), and its
    /// next request here is answered "go elsewhere". False if it had been told.
    /// </summary>
    internal bool Move(CometConnection connection)
    {
        if (_moved is not { } moved || !moved.TryAdd(connection.Id, 0)) return false;
        connection.CurrentAttachment?.TimeOut();
        return true;
    }

    /// <summary>True if the connection <paramref name="id"/> was told to move.</summary>
    internal bool WasMoved(string id) => _moved is { } moved && moved.ContainsKey(id);

    /// <summary>The connections held here now, in no particular order.</summary>
    internal CometConnection[] HeldConnections() => _registry.Snapshot();
}
