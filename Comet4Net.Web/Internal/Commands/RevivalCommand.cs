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

    public async Task ExecuteAsync(CommandRequest r)
    {
        var http = r.Http;
        var options = context.Options;
        var engine = context.Engine;
        var connection = await lookup.FindAsync(r);
        if (connection is null) return;
        if (connection.Dialect == CometDialect.V2)
        {
            if (r.WorkStyleText is not null)
            {
                if (r.WorkStyle is not { } ws || ws == CometWorkStyle.Auto)
                {
                    await CometResponses.ErrorAsync(http, 400, "bad-request", options.Text($"Unknown ws '{CometResponses.Sanitize(r.WorkStyleText)}': expected stream, lpool or sse.", $"未知的 ws '{CometResponses.Sanitize(r.WorkStyleText)}'。"));
                    return;
                }
                connection.Style = ws;
            }
            if (r.AckIsBad)
            {
                await CometResponses.BadAckAsync(http, options);
                return;
            }
            CometResponses.NoCache(http.Response);
        }
        var style = connection.Style;
        var frames = FrameWriter.For(engine, connection, style, r.SseNamedEvents);
        var preamble = frames switch
        {
            SseFrames sse => sse.Preamble(null),
            V2Frames v2 when style == CometWorkStyle.Stream => v2.Heartbeat(), // at once, so a client can tell a buffering proxy from a quiet stream
            _ => null,
        };
        await DeliveryPump.RunAsync(engine, connection, http, connection.Dialect == CometDialect.V2 ? r.Ack : 0, style, frames, preamble);
    }
}
