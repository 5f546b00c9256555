using Comet4Net.Delivery;
using Microsoft.AspNetCore.Http;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>
/// Long polling (<c>lpool</c>): the answer ends as soon as there is something to deliver.
/// Legacy: exactly one frame per answer (its client parses the body as one frame). v2: every
/// waiting frame, a gap notice first if needed.
/// </summary>
internal static class LongPollTransport
{
    /// <summary>Most frames in one v2 answer; the rest follow on the next poll.</summary>
    private const int MaxBatch = 2000;

    internal static async Task RunAsync(CometEngine engine, CometConnection connection, HttpContext context, long ack)
    {
        var response = context.Response;
        var v2 = connection.Dialect == CometDialect.V2;
        if (v2) connection.Pending.RemoveThrough(ack);
        using var scope = new RequestScope(engine, connection, context);
        var batch = new List<CometMessage>();
        var cursor = v2 ? engine.CursorAfter(connection, ack) : connection.LegacyCursor;
        while (true)
        {
            var signals = scope.Signals();
            if (!v2) cursor = connection.LegacyCursor;
            var gap = engine.Collect(connection, ref cursor, batch, v2 ? MaxBatch : 1);
            if (batch.Count > 0 || (v2 && gap is not null))
            {
                if (scope.Reason == EndReason.Superseded)
                {
                    response.StatusCode = StatusCodes.Status204NoContent;
                    return;
                }
                await WriteAsync(engine, context, batch, gap, v2);
                if (!v2) Commit(connection, scope.Attachment, cursor);
                return;
            }
            if (scope.IsEnded)
            {
                switch (scope.Reason)
                {
                    case EndReason.Timeout:
                        await WriteBodyAsync(context, v2 ? CometResponses.V2System(engine, "dying") : CometResponses.LegacyDying(engine), v2);
                        break;
                    case EndReason.Superseded:
                        response.StatusCode = StatusCodes.Status204NoContent;
                        break;
                    case EndReason.Dropped:
                        var kicked = v2 ? CometResponses.KickedFields(connection) : null;
                        await WriteBodyAsync(context, kicked is null ? [] : CometResponses.V2System(engine, "kicked", kicked), v2);
                        break;
                }
                return;
            }
            await scope.WaitAsync(signals, heartbeat: false);
        }
    }

    /// <summary>A legacy cursor moves only when the answer went out on the request still attached.</summary>
    internal static void Commit(CometConnection connection, Attachment attachment, ReadCursor cursor)
    {
        lock (connection.Sync)
        {
            if (!connection.IsCurrent(attachment)) return;
            connection.LegacyCursor = cursor;
        }
        connection.Pending.RemoveThrough(cursor.LastSeq);
    }

    private static async Task WriteAsync(CometEngine engine, HttpContext context, List<CometMessage> batch, CometEngine.Gap? gap, bool v2)
    {
        if (!v2)
        {
            await WriteBodyAsync(context, batch[0].LegacyFrame, v2);
            engine.Counters.AddWritten(1, batch[0].LegacyFrame.Length);
            return;
        }
        var gapFrame = gap is { } g ? CometResponses.V2System(engine, "gap", Fields(g)) : null;
        long length = gapFrame?.Length ?? 0;
        foreach (var m in batch) length += m.V2Frame.Length;
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = CometResponses.V2ContentType;
        response.ContentLength = length;
        var writer = response.BodyWriter;
        if (gapFrame is not null) writer.Write(gapFrame);
        foreach (var m in batch) writer.Write(m.V2Frame);
        try
        {
            await writer.FlushAsync(context.RequestAborted);
            engine.Counters.AddWritten(batch.Count, length);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // Client gone: a v2 client asks again from its last ack; nothing is lost.
        }
    }

    internal static IDictionary<string, object?> Fields(CometEngine.Gap gap) =>
        new Dictionary<string, object?> { ["from"] = gap.From, ["to"] = gap.To };

    private static async Task WriteBodyAsync(HttpContext context, byte[] body, bool v2)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = v2 ? CometResponses.V2ContentType : CometResponses.LegacyContentType;
        response.ContentLength = body.Length;
        try
        {
            if (body.Length > 0) await response.Body.WriteAsync(body, context.RequestAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }
    }
}
