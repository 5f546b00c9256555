using Comet4Net.Web.Internal.Transports;

namespace Comet4Net.Web.Internal.Commands;

/// <summary>
/// <c>cmd=revival</c>: attaches the request to its connection and delivers what is due after the
/// client's position (v2: <c>ack</c> or <c>Last-Event-ID</c>), on the connection's work style
/// (a v2 client may switch it with <c>ws</c>, as a stream falling back to long polling does).
/// </summary>
internal sealed class RevivalCommand(CometContext context, ConnectionLookup lookup) : ICometCommand
{
    public string Name => CometProtocol.CmdRevival;

    // No async method stays on the stack of a held answer: the found connection is served by a
    // plain method that returns the transport's task, so the parsed request (and a state machine
    // per command) is not kept for the minutes an answer is held.
    public Task ExecuteAsync(CommandRequest r)
    {
        var found = lookup.FindAsync(r);
        return found.IsCompletedSuccessfully ? Serve(r, found.Result) : ServeWhenFoundAsync(r, found);
    }

    private async Task ServeWhenFoundAsync(CommandRequest r, Task<CometConnection?> found)
    {
        var connection = await found;
        await Serve(r, connection);
    }

    private Task Serve(CommandRequest r, CometConnection? connection)
    {
        if (connection is null) return Task.CompletedTask;
        var http = r.Http;
        var options = context.Options;
        var engine = context.Engine;
        if (connection.Dialect == CometDialect.V2)
        {
            if (r.WorkStyleText is not null)
            {
                if (r.WorkStyle is not { } ws || ws == CometWorkStyle.Auto)
                    return CometResponses.ErrorAsync(http, 400, "bad-request", options.Text($"Unknown ws '{CometResponses.Sanitize(r.WorkStyleText)}': expected stream, lpool, sse or websocket.", $"未知的 ws '{CometResponses.Sanitize(r.WorkStyleText)}'。"));
                connection.Style = ws;
            }
            if (r.AckIsBad) return CometResponses.BadAckAsync(http, options);
            CometResponses.NoCache(http.Response);
        }
        var style = connection.Style;
        if (style == CometWorkStyle.WebSocket) return WebSocket(r, connection);
        var frames = FrameWriter.For(engine, connection, style, r.SseNamedEvents);
        var preamble = frames switch
        {
            SseFrames sse => sse.Preamble(null),
            V2Frames v2 when style == CometWorkStyle.Stream => v2.Heartbeat(), // at once, so a client can tell a buffering proxy from a quiet stream
            _ => null,
        };
        return DeliveryPump.RunAsync(engine, connection, http, connection.Dialect == CometDialect.V2 ? r.Ack : 0, style, frames, preamble);
    }

    /// <summary>A revival on <c>ws=websocket</c> must be the WebSocket upgrade, from an allowed origin.</summary>
    private Task WebSocket(CommandRequest r, CometConnection connection)
    {
        var http = r.Http;
        var options = context.Options;
        if (!http.WebSockets.IsWebSocketRequest)
        {
            return CometResponses.ErrorAsync(http, 400, "bad-request", options.Text(
                "ws=websocket is a WebSocket upgrade of this URL (new WebSocket('ws://…/conn?cmd=revival&…')); plain HTTP requests use stream, lpool or sse.",
                "ws=websocket 需要 WebSocket 升级请求。"));
        }
        if (!OriginAllowed(http, options))
        {
            return CometResponses.ErrorAsync(http, 403, "forbidden", options.Text(
                $"Pages from {CometResponses.Sanitize(http.Request.Headers.Origin.ToString())} may not open a WebSocket here (Comet:AllowedOrigins).", "不允许该来源打开 WebSocket。"));
        }
        return WebSocketTransport.RunAsync(context.Engine, connection, http, r.AckIsBad ? 0 : r.Ack);
    }

    /// <summary>Same origin, no Origin (not a browser), or one of Comet:AllowedOrigins.</summary>
    internal static bool OriginAllowed(Microsoft.AspNetCore.Http.HttpContext http, CometOptions options)
    {
        var origin = http.Request.Headers.Origin.ToString();
        return origin.Length == 0 || OriginAllowed(http, options, origin);
    }

    /// <summary>The server's own origin (same host and port), or one of Comet:AllowedOrigins.</summary>
    internal static bool OriginAllowed(Microsoft.AspNetCore.Http.HttpContext http, CometOptions options, string origin)
    {
        if (Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, http.Request.Host.Value, StringComparison.OrdinalIgnoreCase)) return true;
        foreach (var allowed in options.AllowedOrigins.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (string.Equals(allowed.TrimEnd('/'), origin.TrimEnd('/'), StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }
}
