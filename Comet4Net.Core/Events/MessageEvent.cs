namespace Comet4Net.Events;

/// <summary>
/// Raised before a message is sent; a listener returning false cancels the send.
/// <see cref="CometEvent.Connection"/> is the target of a SendTo, null for SendToAll.
/// </summary>
public sealed class MessageEvent(CometEngine engine, CometConnection? target, string channel, object? data) : CometEvent(engine, target)
{
    /// <summary>The channel.</summary>
    public string Channel { get; } = channel;

    /// <summary>The application's data, before serialisation.</summary>
    public object? Data { get; } = data;

    /// <summary>The target connection of a SendTo, null for SendToAll.</summary>
    public CometConnection? Target => Connection;
}
