namespace Comet4Net.Client.Internal;

/// <summary>What the <c>conn</c> frame gave: the connection's identity and the server's timings.</summary>
internal sealed record Session(
    string ConnectionId,
    string Secret,
    string? Epoch,
    TimeSpan Resume,
    TimeSpan Heartbeat,
    TimeSpan Timeout,
    CometTransport ServerChoice,
    IReadOnlyList<string> Channels,
    IReadOnlyList<string> Refused,
    long StartSeq);

/// <summary>What one run of a transport ended with.</summary>
internal enum RunKind
{
    /// <summary>The server ended the answer (<c>dying</c>, a long poll's answer, superseded): revive at once.</summary>
    Ended,

    /// <summary>The path does not carry this transport (upgrade refused, a stream that brings nothing): the next one.</summary>
    NotCarried,

    /// <summary>The network failed (refused, cut, silent past the heartbeat): back off and revive.</summary>
    NetworkFailure,

    /// <summary><c>503</c> or <c>429</c>: try again after <c>Retry-After</c>.</summary>
    Unavailable,

    /// <summary>The server does not hold the connection (<c>404 unknown-cid</c>, a <c>reconnect</c> frame): connect again, report a gap.</summary>
    UnknownConnection,

    /// <summary><c>410 kicked</c> or a <c>kicked</c> frame: stop.</summary>
    Kicked,

    /// <summary>Another 4xx: stop.</summary>
    Refused,

    /// <summary>A <c>move</c> frame (the node drains): resume from the same position after its delay hint (RetryAfter), without backoff.</summary>
    Moved,

    /// <summary>
    /// <c>503 draining</c> (the node stops): the first in a row, again at once (another node answers); then with
    /// backoff no shorter than the node's spread (RetryAfter: the answer's <c>spread</c>), until a node answers.
    /// </summary>
    Draining,

    /// <summary>A <c>token-expired</c> frame: the connection's signed token expired; refresh it (<see cref="TokenRefresher"/>), then revive.</summary>
    TokenExpired,

    /// <summary>An SSE revival answered <c>204</c> (kicked, or superseded): ask once by long polling, which says which.</summary>
    AskByPolling,
}

/// <summary>The outcome of one run of a transport.</summary>
internal readonly record struct RunResult(RunKind Kind, bool Opened = false, int Frames = 0, TimeSpan? RetryAfter = null, string? Message = null);

/// <summary>What a line of the wire was.</summary>
internal enum FrameKind
{
    Message,
    Duplicate,
    Heartbeat,
    Dying,
    Gap,
    Kicked,
    Reconnect,
    Superseded,
    Move,
    TokenExpired,
    /// <summary>A delta frame that cannot be rebuilt: revive at once from the position (the server sends it whole).</summary>
    Resync,
    Other,
    Invalid,
}
