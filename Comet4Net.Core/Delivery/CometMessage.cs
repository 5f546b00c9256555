namespace Comet4Net.Delivery;

/// <summary>
/// One message, stored once whatever the number of receivers. Its frames (legacy, v2, SSE) are
/// encoded on first use and the same bytes are written to every connection.
/// </summary>
public sealed partial class CometMessage
{
    private byte[]? _legacyFrame;
    private byte[]? _v2Frame;
    private byte[]? _sseFrame;
    private byte[]? _sseUnnamedFrame;

    internal CometMessage(long seq, string channel, string dataJson, long time, string[]? targetIds, string? eventName = null, string? from = null,
        string? targetUser = null)
    {
        TargetUser = targetUser;
        Seq = seq;
        Channel = channel;
        DataJson = dataJson;
        Time = time;
        TargetIds = targetIds;
        Event = eventName;
        From = from;
    }

    /// <summary>
    /// A hole in the log: the numbers after <paramref name="after"/> up to <paramref name="through"/>
    /// were handed out but will never be delivered (the shared log lost them). A reader passing it
    /// tells its client of a gap.
    /// </summary>
    public static CometMessage Hole(long after, long through) =>
        new(through, CometProtocol.SystemChannel, "null", 0, null) { HoleAfter = after };

    /// <summary>For a hole (see <see cref="Hole"/>), the last number before it; otherwise null.</summary>
    public long? HoleAfter { get; private init; }

    /// <summary>The same message with its sequence number: what a backplane makes of an outgoing message.</summary>
    public static CometMessage Sequenced(long seq, OutgoingMessage m) =>
        new(seq, m.Channel, m.DataJson, m.Time, m.TargetIds ?? (m.TargetUser is null ? null : []), m.Event, m.From, m.TargetUser)
        {
            Origin = m.Origin,
            Trace = m.TraceParent is null ? null : Diagnostics.TraceLink.Parse(m.TraceParent, m.TraceState),
        };

    /// <summary>
    /// What a shared log answers an append whose idempotency key it saw within the window: the first
    /// message's number, not appended again (<see cref="IsDuplicate"/>; no receiver gets it).
    /// </summary>
    public static CometMessage Repeated(long seq, OutgoingMessage m)
    {
        var repeated = Sequenced(seq, m);
        repeated.IsDuplicate = true;
        return repeated;
    }

    /// <summary>True for <see cref="Repeated"/>: a publish with a key seen within the window, answered with the first one's number.</summary>
    public bool IsDuplicate { get; private set; }

    /// <summary>The trace context it carries here (its send's, then its arrival's on this node), or null: set only while traced.</summary>
    internal Diagnostics.TraceLink? Trace { get; set; }

    /// <summary>The node that sent a private message, or null.</summary>
    public string? Origin { get; private init; }

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

    /// <summary>The connection id of a private message sent to one connection; null for a broadcast or a message to several.</summary>
    public string? TargetId => TargetIds is [var only] ? only : null;

    /// <summary>The connections a private message is for (SendTo, SendToUser); null for a broadcast.</summary>
    public IReadOnlyList<string>? Targets => TargetIds;

    internal string[]? TargetIds { get; }

    /// <summary>The user a private message was sent to (SendToUser), or null.</summary>
    public string? TargetUser { get; }

    /// <summary>True if this private message is for the connection <paramref name="id"/> or its user.</summary>
    internal bool IsFor(string id, string? user)
    {
        if (user is not null && TargetUser == user) return true;
        return TargetIds is { } ids && Array.IndexOf(ids, id) >= 0;
    }

    /// <summary>True for a broadcast (every connection that receives the channel), false for a private message.</summary>
    public bool IsBroadcast => TargetIds is null;

    /// <summary>Approximate bytes the message holds, for the memory limits.</summary>
    public int Size => DataJson.Length * 2 + Channel.Length * 2 + 64;

    internal byte[] LegacyFrame => _legacyFrame ??= FrameEncoder.LegacyFromJson(FrameEncoder.FrameJson(null, this));

    internal byte[] V2Frame => _v2Frame ??= FrameEncoder.V2(this, history: false);

    internal byte[] SseUnnamedFrame => _sseUnnamedFrame ??= FrameEncoder.SseUnnamed(this);

    internal byte[] SseFrame => _sseFrame ??= DeltaOriginal?.SseFrame ?? FrameEncoder.Sse(Seq, Event is null ? Channel : Channel + "." + Event, DataJson);
}
