using Comet4Net.Hosting;
using Comet4Net.Web.Internal.Transports;

namespace Comet4Net.Web.Internal.Commands;

/// <summary>
/// <c>cmd=revival</c>: attaches the request to its connection and delivers what is due after the
/// client's position (v2: <c>ack</c> or <c>Last-Event-ID</c>), on the connection's work style
/// (a v2 client may switch it with <c>ws</c>, as a stream falling back to long polling does).
/// </summary>
internal sealed class RevivalCommand(CometContext context, ConnectionLookup lookup, FrameWriters writers,
    IReadOnlyDictionary<string, IConnectionCommand> socketCommands) : ICometCommand
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
        var http = r.Http!;
        var engine = context.Engine;
        var v2 = connection.Dialect == CometDialect.V2;
        if (v2)
        {
            if (r.WorkStyleText is not null)
            {
                if (r.WorkStyle is not { } ws || ws == CometWorkStyle.Auto) return r.Reply.ErrorAsync(CometErrors.BadRevivalStyle(r.WorkStyleText));
                CometHost.SwitchStyle(connection, ws);
            }
            if (r.AckIsBad) return r.Reply.ErrorAsync(CometErrors.BadAck);
            CometResponses.NoCache(http.Response);
        }
        var style = connection.Style;
        var frames = writers.For(connection, style, r.SseNamedEvents);
        FrameSink sink;
        if (style == CometWorkStyle.WebSocket)
        {
            if (!WebSocketAccept.IsWebSocketRequest(http)) return r.Reply.ErrorAsync(CometErrors.WebSocketNeedsUpgrade);
            if (!OriginAllowed(http, context.Options)) return r.Reply.ErrorAsync(CometErrors.OriginRefused(http.Request.Headers.Origin.ToString()));
            sink = new WebSocketSink(engine, connection, http, frames, socketCommands);
        }
        else if (style == CometWorkStyle.LongPoll)
        {
            sink = new LongPollSink(http, frames, v2);
        }
        else
        {
            var preamble = frames switch
            {
                SseFrames sse => sse.Preamble(null),
                V2Frames v2Frames => v2Frames.Heartbeat(), // at once, so a client can tell a buffering proxy from a quiet stream
                _ => null,
            };
            sink = new HeldAnswerSink(http, frames, preamble);
        }
        return DeliveryLoop.RunAsync(engine, connection, http, v2 ? r.Ack : 0, sink, v2 ? r.Epoch : null);
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
