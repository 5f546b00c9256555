using System.Text;
using Comet4Net.Delivery;
using Microsoft.AspNetCore.Http;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>
/// Server-Sent Events (<c>sse</c>): <c>text/event-stream</c> with <c>id:</c> = sequence number,
/// <c>event:</c> = channel, <c>data:</c> = the data as JSON, and comment-line heartbeats. An
/// <c>EventSource</c> resumes exactly with <c>Last-Event-ID</c>.
/// </summary>
internal static class SseTransport
{
    private const int MaxBatch = 500;
    private static readonly byte[] Heartbeat = ": hb\n\n"u8.ToArray();

    /// <param name="connectData">The c4j conn event's data when the stream is also the connect answer.</param>
    internal static async Task RunAsync(CometEngine engine, CometConnection connection, HttpContext context, long ack, string? connectData)
    {
        var response = context.Response;
        connection.Pending.RemoveThrough(ack);
        using var scope = new RequestScope(engine, connection, context);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = CometResponses.SseContentType;
        var writer = response.BodyWriter;
        writer.Write(Encoding.ASCII.GetBytes($"retry: {engine.Options.SseRetry}\n\n"));
        if (connectData is not null) writer.Write(Encoding.UTF8.GetBytes($"event: c4j\ndata: {connectData}\n\n"));
        if (!await scope.FlushAsync(0, 0)) return;
        var batch = new List<CometMessage>();
        var cursor = engine.CursorAfter(connection, ack);
        var heartbeatEvery = engine.Options.Heartbeat > 0 ? TimeSpan.FromMilliseconds(engine.Options.Heartbeat / 2.0) : TimeSpan.MaxValue;
        var lastWrite = engine.Timestamp;
        while (true)
        {
            var signals = scope.Signals();
            batch.Clear();
            var gap = engine.Collect(connection, ref cursor, batch, MaxBatch);
            if (batch.Count > 0 || gap is not null)
            {
                if (scope.Reason == EndReason.Superseded) return;
                long bytes = 0;
                if (gap is { } g)
                {
                    var frame = CometResponses.SseSystem("gap", LongPollTransport.Fields(g));
                    writer.Write(frame);
                    bytes += frame.Length;
                }
                foreach (var m in batch)
                {
                    writer.Write(m.SseFrame);
                    bytes += m.SseFrame.Length;
                }
                if (!await scope.FlushAsync(batch.Count, bytes)) return;
                lastWrite = engine.Timestamp;
                continue;
            }
            if (scope.IsEnded)
            {
                var frame = scope.Reason switch
                {
                    EndReason.Timeout => CometResponses.SseSystem("dying"),
                    EndReason.Superseded => CometResponses.SseSystem("superseded"),
                    EndReason.Dropped when CometResponses.KickedFields(connection) is { } kicked => CometResponses.SseSystem("kicked", kicked),
                    _ => null,
                };
                if (frame is not null)
                {
                    writer.Write(frame);
                    await scope.FlushAsync(0, 0);
                }
                return;
            }
            if (engine.Elapsed(lastWrite) >= heartbeatEvery)
            {
                writer.Write(Heartbeat);
                if (!await scope.FlushAsync(0, Heartbeat.Length)) return;
                lastWrite = engine.Timestamp;
            }
            await scope.WaitAsync(signals, heartbeat: true);
        }
    }
}
