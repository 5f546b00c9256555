namespace Comet4Net.Events;

/// <summary>Raised before a v2 client subscribes to a channel; a listener returning false refuses (the host answers with a refusal).</summary>
public sealed class SubscribeEvent(CometEngine engine, CometConnection connection, string channel) : CometEvent(engine, connection)
{
    /// <summary>The channel.</summary>
    public string Channel { get; } = channel;
}
