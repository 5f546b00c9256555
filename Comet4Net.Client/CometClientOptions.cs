using System.Net;

namespace Comet4Net.Client;

/// <summary>
/// How a <see cref="CometClient"/> connects. Every property has a working default; the simple ones bind
/// from configuration (<c>configuration.GetSection("CometClient").Bind(options)</c>).
/// </summary>
public sealed class CometClientOptions
{
    /// <summary>
    /// The channels to listen on, sent as <c>sub</c> on connect (together with the channels of handlers
    /// registered before <see cref="CometClient.StartAsync"/>). When none is named at all, the client
    /// receives every channel the server allows it, as a page that names none.
    /// </summary>
    public List<string> Channels { get; set; } = [];

    /// <summary>
    /// The work style: <c>auto</c> (default: the server's answer decides, WebSocket first, then stream,
    /// SSE and long polling) or one of <c>websocket</c>, <c>stream</c>, <c>sse</c>, <c>lpool</c> to force it.
    /// </summary>
    public string Transport { get; set; } = "auto";

    /// <summary>Headers sent with every request and WebSocket upgrade (for example <c>Authorization</c>).</summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Extra query parameters sent with every request (the page client's <c>param</c>), visible to the server's listeners.</summary>
    public Dictionary<string, string> Parameters { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Called before every connect and revival: its value, when not null, is sent as <c>token=</c> (the
    /// server's signed tokens). Called again each time, so a token that expires can be refreshed. Not bound
    /// from configuration.
    /// </summary>
    public Func<CancellationToken, ValueTask<string?>>? TokenProvider { get; set; }

    /// <summary>
    /// Cookies for the requests the client makes with an <see cref="HttpClient"/> of its own, and for the
    /// WebSocket upgrade. A caller's <see cref="HttpClient"/> keeps its own handler's cookies. Not bound from configuration.
    /// </summary>
    public CookieContainer? Cookies { get; set; }

    /// <summary>The first retry waits up to this long (full jitter, doubling each time). Default 500 ms.</summary>
    public TimeSpan RetryBase { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The longest wait between retries. Default 15 s; never more than a quarter of the server's resume
    /// window (<c>resume</c> in the <c>conn</c> frame), so a client that keeps trying resumes in time.
    /// </summary>
    public TimeSpan RetryMax { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a transport may take to open (connect, upgrade, answer headers). Default 10 s.</summary>
    public TimeSpan OpenTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A stream that brings no byte at all for this long after it opened is taken for a buffering proxy: the
    /// client moves to the next transport. Default 4 s (the server writes a heartbeat at once).
    /// </summary>
    public TimeSpan StreamProbeTimeout { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>
    /// Added to 1.5 × the server's heartbeat: an open transport silent for longer is taken for dead and
    /// revived. Default 2 s.
    /// </summary>
    public TimeSpan HeartbeatMargin { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How many messages <see cref="CometClient.ReadAllAsync"/> buffers before the client waits for its reader. Default 1000.</summary>
    public int MessageBufferCapacity { get; set; } = 1000;

    /// <summary>How many times a channel command (sub, unsub, pub, count) is tried when the network fails. Default 5.</summary>
    public int CommandAttempts { get; set; } = 5;

    /// <summary>Ask for Fossil deltas (<c>delta=fossil</c>) on channels the server registered with <c>Delta = true</c>; messages still carry the whole data.</summary>
    public bool Delta { get; set; }

    internal void Validate()
    {
        if (CometTransports.Parse(Transport) is null && !string.Equals(Transport, "auto", StringComparison.OrdinalIgnoreCase) && !string.IsNullOrEmpty(Transport))
            throw new ArgumentException($"CometClientOptions.Transport '{Transport}' is not one of auto, websocket, stream, sse, lpool.", nameof(Transport));
        if (RetryBase <= TimeSpan.Zero) throw new ArgumentException("CometClientOptions.RetryBase must be positive.", nameof(RetryBase));
        if (RetryMax < RetryBase) throw new ArgumentException("CometClientOptions.RetryMax must be at least RetryBase.", nameof(RetryMax));
        if (OpenTimeout <= TimeSpan.Zero) throw new ArgumentException("CometClientOptions.OpenTimeout must be positive.", nameof(OpenTimeout));
        if (MessageBufferCapacity < 1) throw new ArgumentException("CometClientOptions.MessageBufferCapacity must be at least 1.", nameof(MessageBufferCapacity));
        if (CommandAttempts < 1) throw new ArgumentException("CometClientOptions.CommandAttempts must be at least 1.", nameof(CommandAttempts));
    }
}
