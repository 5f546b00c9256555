namespace Comet4Net.Events;

/// <summary>
/// Raised before a client's message (<c>JS.Engine.send</c>) goes out on a channel that allows it.
/// A listener may replace <see cref="Data"/>, or refuse (return false, or <see cref="Refuse"/>).
/// </summary>
public sealed class BeforePublishEvent(CometEngine engine, CometConnection connection, string channel, string? eventName, Newtonsoft.Json.Linq.JToken? data)
    : CometEvent(engine, connection)
{
    /// <summary>The channel.</summary>
    public string Channel { get; } = channel;

    /// <summary>The event within the channel, or null.</summary>
    public string? Event { get; } = eventName;

    /// <summary>The data the client sent; set it to rewrite the message.</summary>
    public Newtonsoft.Json.Linq.JToken? Data { get; set; } = data;

    /// <summary>True once a listener refused.</summary>
    public bool Refused { get; private set; }

    /// <summary>Why it was refused; sent to the client.</summary>
    public string? Reason { get; private set; }

    /// <summary>Refuses the message with a reason the client sees.</summary>
    public void Refuse(string? reason = null)
    {
        Refused = true;
        Reason = reason;
    }
}
