using Comet4Net.Delivery;
using Microsoft.AspNetCore.Http;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>
/// The one delivery loop of every HTTP work style: attach the request, take what is due after the
/// client's position, write it in this dialect's frames, wait for more, and end the answer for the
/// reason it ends (timeout, superseded, dropped, client gone). What differs per style is only
/// whether the answer is held after a write (stream, sse) or ends with it (lpool), and how big a batch is.
/// </summary>
internal sealed class DeliveryPump
{
    private readonly CometEngine _engine;
    private readonly CometConnection _connection;
    private readonly HttpContext _http;
    private readonly FrameWriter _frames;
    private readonly bool _held;
    private readonly int _maxBatch;
    private readonly bool _v2;

    private DeliveryPump(CometEngine engine, CometConnection connection, HttpContext http, FrameWriter frames, bool held, int maxBatch)
    {
        _engine = engine;
        _connection = connection;
        _http = http;
        _frames = frames;
        _held = held;
        _maxBatch = maxBatch;
        _v2 = connection.Dialect == CometDialect.V2;
    }

    /// <summary>
    /// Serves one revival (or the SSE connect answer) on <paramref name="style"/>, starting after
    /// <paramref name="ack"/> (v2; legacy connections keep their position on the server).
    /// <paramref name="preamble"/> is what a held answer writes first.
    /// </summary>
    internal static Task RunAsync(CometEngine engine, CometConnection connection, HttpContext http, long ack, CometWorkStyle style,
        FrameWriter frames, byte[]? preamble = null)
    {
        var held = style != CometWorkStyle.LongPoll;
        var maxBatch = !held ? (connection.Dialect == CometDialect.V2 ? 2000 : 1) : 500;
        return new DeliveryPump(engine, connection, http, frames, held, maxBatch).RunAsync(ack, preamble);
    }

    private async Task RunAsync(long ack, byte[]? preamble)
    {
        var response = _http.Response;
        if (_v2) _connection.Pending.RemoveThrough(ack);
        using var scope = await RequestScope.StartAsync(_engine, _connection, _http);
        if (_held)
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = _frames.ContentType;
            CometResponses.Streaming(response);
            if (preamble is { Length: > 0 }) response.BodyWriter.Write(preamble);
            // The headers go out at once; StartAsync alone would leave them in the pipe.
            if (!await scope.FlushAsync(0, preamble?.Length ?? 0)) return;
        }
        var batch = new List<CometMessage>();
        var cursor = _v2 ? _engine.CursorAfter(_connection, ack) : _connection.LegacyCursor;
        var heartbeatEvery = _held && _engine.Options.Heartbeat > 0 && _frames.Heartbeat() is not null
            ? TimeSpan.FromMilliseconds(_engine.Options.Heartbeat / 2.0) : TimeSpan.MaxValue;
        var lastWrite = _engine.Timestamp;
        while (true)
        {
            var signals = scope.Signals();
            if (!_v2) cursor = _connection.LegacyCursor;
            batch.Clear();
            var gap = _engine.Collect(_connection, ref cursor, batch, _maxBatch);
            var gapFrame = gap is { } g ? _frames.Gap(g) : null;
            if (batch.Count > 0 || gapFrame is not null)
            {
                if (scope.Reason == EndReason.Superseded)
                {
                    if (!_held) response.StatusCode = StatusCodes.Status204NoContent;
                    return;
                }
                var written = _held ? await WriteHeldAsync(scope, batch, gapFrame) : await WriteWholeAsync(batch, gapFrame);
                if (!written) return;
                if (!_v2) Commit(scope, cursor);
                if (!_held) return;
                lastWrite = _engine.Timestamp;
                continue;
            }
            if (scope.IsEnded)
            {
                await EndAsync(scope, scope.Reason);
                return;
            }
            if (_engine.Elapsed(lastWrite) >= heartbeatEvery)
            {
                var beat = _frames.Heartbeat()!;
                response.BodyWriter.Write(beat);
                if (!await scope.FlushAsync(0, beat.Length)) return;
                lastWrite = _engine.Timestamp;
            }
            await scope.WaitAsync(signals, heartbeat: heartbeatEvery != TimeSpan.MaxValue);
        }
    }

    /// <summary>A held answer: the frames go out in one flush (a slow client gets SendTimeout, then its request ends).</summary>
    private async Task<bool> WriteHeldAsync(RequestScope scope, List<CometMessage> batch, byte[]? gapFrame)
    {
        var writer = _http.Response.BodyWriter;
        long bytes = 0;
        if (gapFrame is not null)
        {
            writer.Write(gapFrame);
            bytes += gapFrame.Length;
        }
        foreach (var m in batch)
        {
            var frame = _frames.Frame(m);
            writer.Write(frame);
            bytes += frame.Length;
        }
        return await scope.FlushAsync(batch.Count, bytes);
    }

    /// <summary>A long poll's answer: every frame at once, with its length.</summary>
    private async Task<bool> WriteWholeAsync(List<CometMessage> batch, byte[]? gapFrame)
    {
        var response = _http.Response;
        long length = gapFrame?.Length ?? 0;
        foreach (var m in batch) length += _frames.Frame(m).Length;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = _frames.ContentType;
        response.ContentLength = length;
        var writer = response.BodyWriter;
        if (gapFrame is not null) writer.Write(gapFrame);
        foreach (var m in batch) writer.Write(_frames.Frame(m));
        try
        {
            await writer.FlushAsync(_http.RequestAborted);
            _engine.Counters.AddWritten(batch.Count, length);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // Client gone: a v2 client asks again from its last ack; a legacy cursor does not move.
            return false;
        }
    }

    private async Task EndAsync(RequestScope scope, EndReason reason)
    {
        var last = _frames.End(reason, _connection, _held);
        if (_held)
        {
            if (last is null) return;
            _http.Response.BodyWriter.Write(last);
            await scope.FlushAsync(0, last.Length);
            return;
        }
        if (last is null)
        {
            if (reason == EndReason.Superseded) _http.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }
        var response = _http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = _frames.ContentType;
        response.ContentLength = last.Length;
        try
        {
            if (last.Length > 0) await response.Body.WriteAsync(last, _http.RequestAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }
    }

    /// <summary>A legacy cursor moves only when the answer went out on the request still attached.</summary>
    private void Commit(RequestScope scope, ReadCursor cursor)
    {
        lock (_connection.Sync)
        {
            if (!_connection.IsCurrent(scope.Attachment)) return;
            _connection.LegacyCursor = cursor;
        }
        _connection.Pending.RemoveThrough(cursor.LastSeq);
    }
}
