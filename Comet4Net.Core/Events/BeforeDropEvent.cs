namespace Comet4Net.Events;

/// <summary>Raised before a connection is dropped on request; a listener returning false vetoes the drop.</summary>
public sealed class BeforeDropEvent(CometEngine engine, CometConnection connection, DropReason reason) : CometEvent(engine, connection)
{
    /// <summary>Why the connection is being dropped.</summary>
    public DropReason Reason { get; } = reason;
}
