namespace Comet4Net.Events;

/// <summary>Raised when a client stops listening on a channel (or its connection ends).</summary>
public sealed class UnsubscribeEvent(CometEngine engine, CometConnection connection, string channel) : CometEvent(engine, connection)
{
    /// <summary>The channel.</summary>
    public string Channel { get; } = channel;
}
