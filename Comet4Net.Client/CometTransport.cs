namespace Comet4Net.Client;

/// <summary>The ways a client receives frames (the protocol's work styles), in the order <c>auto</c> tries them.</summary>
public enum CometTransport
{
    /// <summary><c>websocket</c>: an upgrade of the revival URL; frames as text messages, acks on the socket.</summary>
    WebSocket,

    /// <summary><c>stream</c>: one chunked answer of NDJSON frames, read as it arrives.</summary>
    Stream,

    /// <summary><c>sse</c>: <c>text/event-stream</c>, read by the client itself (unnamed events, <c>names=0</c>).</summary>
    Sse,

    /// <summary><c>lpool</c>: long polling, every waiting frame in one answer.</summary>
    LongPolling,
}

/// <summary>The protocol's names of the work styles.</summary>
public static class CometTransports
{
    /// <summary>The <c>ws=</c> value of a transport.</summary>
    public static string WireName(this CometTransport transport) => transport switch
    {
        CometTransport.WebSocket => "websocket",
        CometTransport.Stream => "stream",
        CometTransport.Sse => "sse",
        _ => "lpool",
    };

    /// <summary>The transport of a <c>ws=</c> value (case-insensitive), or null (for <c>auto</c> and anything unknown).</summary>
    public static CometTransport? Parse(string? name) => name?.ToLowerInvariant() switch
    {
        "websocket" => CometTransport.WebSocket,
        "stream" => CometTransport.Stream,
        "sse" => CometTransport.Sse,
        "lpool" or "longpolling" => CometTransport.LongPolling,
        _ => null,
    };
}
