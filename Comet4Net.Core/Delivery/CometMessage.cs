namespace Comet4Net.Delivery;

/// <summary>
/// One message, stored once whatever the number of receivers. Its frames (legacy, v2, SSE) are
/// encoded on first use and the same bytes are written to every connection.
/// </summary>
public sealed class CometMessage
{
    private byte[]? _legacyFrame;
    private byte[]? _v2Frame;
    private byte[]? _sseFrame;

    internal CometMessage(long seq, string channel, string dataJson, long time, string? targetId, string? eventName = null, string? from = null)
    {
        Seq = seq;
        Channel = channel;
        DataJson = dataJson;
        Time = time;
        TargetId = targetId;
        Event = eventName;
        From = from;
    }

    /// <summary>The event within the channel (<c>SendToAll("chat", "typing", …)</c>), or null.</summary>
    public string? Event { get; }

    /// <summary>Who published it, for messages a client sent (its user id, or its connection id); null for the server's own.</summary>
    public string? From { get; }

    /// <summary>The sequence number: one counter for the whole engine, so a connection's messages are strictly increasing.</summary>
    public long Seq { get; }

    /// <summary>The channel the message was sent on.</summary>
    public string Channel { get; }

    /// <summary>The application's data, already serialised to JSON.</summary>
    public string DataJson { get; }

    /// <summary>Send time in milliseconds since 1970 (UTC).</summary>
    public long Time { get; }

    /// <summary>The connection id for a private message (SendTo); null for a broadcast.</summary>
    public string? TargetId { get; }

    /// <summary>Approximate bytes the message holds, for the memory limits.</summary>
    public int Size => DataJson.Length * 2 + Channel.Length * 2 + 64;

    internal byte[] LegacyFrame => _legacyFrame ??= FrameEncoder.LegacyFromJson(FrameEncoder.FrameJson(null, this));

    internal byte[] V2Frame => _v2Frame ??= FrameEncoder.V2(this, history: false);

    internal byte[] SseFrame => _sseFrame ??= FrameEncoder.Sse(Seq, Event is null ? Channel : Channel + "." + Event, DataJson);
}
