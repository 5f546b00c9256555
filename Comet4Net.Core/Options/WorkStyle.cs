namespace Comet4Net;

/// <summary>How a connection's messages travel: the closed set behind <see cref="WorkStyles"/>' names.</summary>
public enum CometWorkStyle
{
    /// <summary>Let the server pick per client (<c>auto</c>).</summary>
    Auto,
    /// <summary>A chunked answer held open, frames written as they come (<c>stream</c>).</summary>
    Stream,
    /// <summary>Long polling: the answer ends after each delivery (<c>lpool</c>).</summary>
    LongPoll,
    /// <summary>Server-Sent Events, <c>text/event-stream</c> (<c>sse</c>).</summary>
    Sse,
    /// <summary>A WebSocket: the same frames as <c>stream</c>, one text message per write, acknowledgements sent back on the socket (<c>websocket</c>).</summary>
    WebSocket,
}

/// <summary>The work styles' names, as configuration, the wire and Comet4J spell them.</summary>
public static class WorkStyles
{
    /// <summary>Let the server pick per client.</summary>
    public const string Auto = "auto";
    /// <summary>A chunked answer held open, frames written as they come.</summary>
    public const string Stream = "stream";
    /// <summary>Long polling: the answer ends after each delivery.</summary>
    public const string LongPoll = "lpool";
    /// <summary>Server-Sent Events (<c>text/event-stream</c>).</summary>
    public const string Sse = "sse";
    /// <summary>A WebSocket (an upgrade of the same URL).</summary>
    public const string WebSocket = "websocket";

    /// <summary>The canonical name of a work style, or null if <paramref name="value"/> is none.</summary>
    public static string? Parse(string? value) => TryParse(value, out var style) ? Name(style) : null;

    /// <summary>Reads a work style's name (case and spaces ignored; <c>longpoll</c> and <c>long-poll</c> mean <c>lpool</c>).</summary>
    public static bool TryParse(string? value, out CometWorkStyle style)
    {
        switch (value?.Trim().ToLowerInvariant())
        {
            case Auto: style = CometWorkStyle.Auto; return true;
            case Stream: style = CometWorkStyle.Stream; return true;
            case LongPoll or "longpoll" or "long-poll": style = CometWorkStyle.LongPoll; return true;
            case Sse: style = CometWorkStyle.Sse; return true;
            case WebSocket or "ws": style = CometWorkStyle.WebSocket; return true;
            default: style = CometWorkStyle.Auto; return false;
        }
    }

    /// <summary>The wire name of a work style.</summary>
    public static string Name(CometWorkStyle style) => style switch
    {
        CometWorkStyle.Stream => Stream,
        CometWorkStyle.LongPoll => LongPoll,
        CometWorkStyle.Sse => Sse,
        CometWorkStyle.WebSocket => WebSocket,
        _ => Auto,
    };
}
