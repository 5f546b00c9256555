namespace Comet4Net.Events;

/// <summary>
/// Raised when messages kept for a connection passed <c>MaxPendingMessages</c>/<c>MaxPendingBytes</c>
/// and the oldest were dropped (the client gets a gap notice), or the connection was ended (policy <c>drop</c>).
/// </summary>
public sealed class OverflowEvent(CometEngine engine, CometConnection connection, int dropped, bool connectionDropped)
    : CometEvent(engine, connection)
{
    /// <summary>How many messages were dropped.</summary>
    public int Dropped { get; } = dropped;

    /// <summary>True if the policy ended the connection.</summary>
    public bool ConnectionDropped { get; } = connectionDropped;
}
