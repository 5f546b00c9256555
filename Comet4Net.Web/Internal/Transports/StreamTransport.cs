using Comet4Net.Delivery;
using Microsoft.AspNetCore.Http;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>
/// Streaming (<c>stream</c>): one chunked answer held until the timeout; each write is whole
/// frames, flushed together. v2 adds a heartbeat (and one at once, so the client can tell a
/// buffering proxy from a quiet stream) and never needs the server to remember what was written:
/// the next revival's ack says.
/// </summary>
internal static class StreamTransport
{
    private const int MaxBatch = 500;

    internal static async Task RunAsync(CometEngine engine, CometConnection connection, HttpContext context, long ack)
    {
        var v2 = connection.Dialect == CometDialect.V2;
        var response = context.Response;
        if (v2) connection.Pending.RemoveThrough(ack);
        using var scope = new RequestScope(engine, connection, context);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = v2 ? CometResponses.V2ContentType : CometResponses.LegacyContentType;
        var writer = response.BodyWriter;
        var batch = new List<CometMessage>();
        var cursor = v2 ? engine.CursorAfter(connection, ack) : connection.LegacyCursor;
        var heartbeatEvery = v2 && engine.Options.Heartbeat > 0 ? TimeSpan.FromMilliseconds(engine.Options.Heartbeat / 2.0) : TimeSpan.MaxValue;
        var lastWrite = engine.Timestamp;
        if (v2)
        {
            var hello = CometResponses.V2System(engine, "hb");
            writer.Write(hello);
            if (!await scope.FlushAsync(0, hello.Length)) return;
        }
        else if (!await scope.FlushAsync(0, 0))
        {
            return; // the headers go out at once; StartAsync alone would leave them in the pipe
        }
        while (true)
        {
            var signals = scope.Signals();
            if (!v2) cursor = connection.LegacyCursor;
            batch.Clear();
            var gap = engine.Collect(connection, ref cursor, batch, MaxBatch);
            if (batch.Count > 0 || (v2 && gap is not null))
            {
                if (scope.Reason == EndReason.Superseded) return;
                long bytes = 0;
                if (v2 && gap is { } g)
                {
                    var frame = CometResponses.V2System(engine, "gap", LongPollTransport.Fields(g));
                    writer.Write(frame);
                    bytes += frame.Length;
                }
                foreach (var m in batch)
                {
                    var frame = v2 ? m.V2Frame : m.LegacyFrame;
                    writer.Write(frame);
                    bytes += frame.Length;
                }
                if (!await scope.FlushAsync(batch.Count, bytes)) return;
                if (!v2) LongPollTransport.Commit(connection, scope.Attachment, cursor);
                lastWrite = engine.Timestamp;
                continue;
            }
            if (scope.IsEnded)
            {
                switch (scope.Reason)
                {
                    case EndReason.Timeout:
                        var dying = v2 ? CometResponses.V2System(engine, "dying") : CometResponses.LegacyDying(engine);
                        writer.Write(dying);
                        await scope.FlushAsync(0, dying.Length);
                        break;
                    case EndReason.Superseded when v2:
                        var superseded = CometResponses.V2System(engine, "superseded");
                        writer.Write(superseded);
                        await scope.FlushAsync(0, superseded.Length);
                        break;
                    case EndReason.Dropped:
                        // A legacy client revives on any c4j frame, finds its cid gone and stops.
                        var kicked = v2 ? CometResponses.KickedFields(connection) : null;
                        var dropped = !v2 ? CometResponses.LegacyDying(engine) : kicked is null ? null : CometResponses.V2System(engine, "kicked", kicked);
                        if (dropped is null) break;
                        writer.Write(dropped);
                        await scope.FlushAsync(0, dropped.Length);
                        break;
                }
                return;
            }
            if (v2 && engine.Elapsed(lastWrite) >= heartbeatEvery)
            {
                var hb = CometResponses.V2System(engine, "hb");
                writer.Write(hb);
                if (!await scope.FlushAsync(0, hb.Length)) return;
                lastWrite = engine.Timestamp;
            }
            await scope.WaitAsync(signals, heartbeat: v2);
        }
    }
}
