namespace Comet4Net.Events;

/// <summary>Raised after a connection was removed from the engine.</summary>
public sealed class RemovedEvent(CometEngine engine, CometConnection connection, DropReason reason) : CometEvent(engine, connection)
{
    /// <summary>Why the connection was removed.</summary>
    public DropReason Reason { get; } = reason;
}
