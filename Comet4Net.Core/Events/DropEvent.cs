namespace Comet4Net.Events;

/// <summary>Raised when a connection has ended, whatever the reason (drop, expiry, kick).</summary>
public sealed class DropEvent(CometEngine engine, CometConnection connection, DropReason reason) : CometEvent(engine, connection)
{
    /// <summary>Why the connection ended.</summary>
    public DropReason Reason { get; } = reason;
}
