namespace Comet4Net.Client;

/// <summary>The client has a connection: at start, and again after the server forgot the previous one.</summary>
public sealed class CometStartedEventArgs(string connectionId, IReadOnlyList<string> channels, IReadOnlyList<string> refused, CometTransport transport) : EventArgs
{
    /// <summary>The connection id the server gave (<c>cId</c>).</summary>
    public string ConnectionId { get; } = connectionId;

    /// <summary>The channels the server has (the <c>conn</c> frame's <c>channels</c>).</summary>
    public IReadOnlyList<string> Channels { get; } = channels;

    /// <summary>The channels named in <see cref="CometClientOptions.Channels"/> that the server's subscribe listeners refused.</summary>
    public IReadOnlyList<string> Refused { get; } = refused;

    /// <summary>The transport the client opens first.</summary>
    public CometTransport Transport { get; } = transport;
}

/// <summary>Why a client stopped.</summary>
public enum CometStopReason
{
    /// <summary><see cref="CometClient.StopAsync"/> or disposal.</summary>
    Stopped,

    /// <summary>The application ended the connection (<c>410 kicked</c>, or a <c>kicked</c> frame): the client does not reconnect.</summary>
    Kicked,

    /// <summary>The server refused the connection (a 4xx answer other than a retryable one): the message says why.</summary>
    Refused,
}

/// <summary>The client stopped for good.</summary>
public sealed class CometStoppedEventArgs(CometStopReason reason, string? message, string? connectionId) : EventArgs
{
    /// <summary>Why.</summary>
    public CometStopReason Reason { get; } = reason;

    /// <summary>The server's reason or message, when it gave one.</summary>
    public string? Message { get; } = message;

    /// <summary>The connection id it had, if any.</summary>
    public string? ConnectionId { get; } = connectionId;
}

/// <summary>
/// Some messages meant for this client are lost: every sequence number from <see cref="From"/> to
/// <see cref="To"/> that was meant for it. <see cref="To"/> is null when the server forgot the connection
/// (restarted, or away past the resume window): everything after <see cref="From"/> until the new connection.
/// </summary>
public sealed class CometGapEventArgs(long from, long? to, string reason) : EventArgs
{
    /// <summary>The first lost sequence number.</summary>
    public long From { get; } = from;

    /// <summary>The last lost sequence number, or null when unknown (a new connection).</summary>
    public long? To { get; } = to;

    /// <summary><c>gap</c> (the server said so) or <c>reset</c> (the server forgot the connection).</summary>
    public string Reason { get; } = reason;
}

/// <summary>The client moved to another transport (the path does not carry the previous one).</summary>
public sealed class CometTransportChangedEventArgs(CometTransport? previous, CometTransport current, string reason) : EventArgs
{
    /// <summary>The transport before, or null for the first one.</summary>
    public CometTransport? Previous { get; } = previous;

    /// <summary>The transport now.</summary>
    public CometTransport Current { get; } = current;

    /// <summary>Why it moved.</summary>
    public string Reason { get; } = reason;
}
