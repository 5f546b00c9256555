using System.IO.Pipelines;
using Comet4Net.Delivery;
using Microsoft.AspNetCore.Http;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>
/// <c>lpool</c> (and JSON-P): one whole answer with its length, every waiting frame at once (one
/// frame for legacy clients, as Comet4J). A write ends the answer; a superseded poll that wrote
/// nothing answers 204. No send timeout: the answer's end is its length.
/// </summary>
internal sealed class LongPollSink(HttpContext http, FrameWriter frames, bool v2) : FrameSink(frames)
{
    private bool _answered;

    internal override bool Held => false;
    internal override int MaxBatch => v2 ? 2000 : 1;
    internal override bool HasSendTimeout => false;

    internal override ValueTask<bool> WriteAsync(byte[]? gap, List<CometMessage> batch, long bytes)
    {
        var writer = Start(bytes);
        if (gap is not null) writer.Write(gap);
        foreach (var m in batch) writer.Write(Frames.Frame(m));
        return HeldAnswerSink.Flush(writer, http, whole: true);
    }

    internal override ValueTask<bool> WriteAsync(byte[] frame)
    {
        var writer = Start(frame.Length);
        writer.Write(frame);
        return HeldAnswerSink.Flush(writer, http, whole: true);
    }

    private PipeWriter Start(long length)
    {
        _answered = true;
        var response = http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = Frames.ContentType;
        response.ContentLength = length;
        return response.BodyWriter;
    }

    internal override ValueTask EndAsync(EndReason reason)
    {
        if (!_answered && reason == EndReason.Superseded) http.Response.StatusCode = StatusCodes.Status204NoContent;
        return ValueTask.CompletedTask;
    }

    internal override void Abort() => http.Abort();
}

/// <summary>
/// <c>stream</c> and <c>sse</c>: one answer held open, its headers and <paramref name="preamble"/>
/// (the SSE <c>retry</c>, a stream's first <c>hb</c>) sent at once, each write flushed.
/// </summary>
internal sealed class HeldAnswerSink(HttpContext http, FrameWriter frames, byte[]? preamble) : FrameSink(frames)
{
    internal override bool Held => true;
    internal override int MaxBatch => 500;
    internal override int OpenBytes => preamble?.Length ?? 0;

    internal override ValueTask<bool> OpenAsync(RequestScope scope)
    {
        var response = http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = Frames.ContentType;
        CometResponses.Streaming(response);
        if (preamble is { Length: > 0 }) response.BodyWriter.Write(preamble);
        preamble = null; // written: not kept while the answer is held
        // The headers go out at once; StartAsync alone would leave them in the pipe.
        return Flush(response.BodyWriter, http);
    }

    internal override ValueTask<bool> WriteAsync(byte[]? gap, List<CometMessage> batch, long bytes)
    {
        var writer = http.Response.BodyWriter;
        if (gap is not null) writer.Write(gap);
        foreach (var m in batch) writer.Write(Frames.Frame(m));
        return Flush(writer, http);
    }

    internal override ValueTask<bool> WriteAsync(byte[] frame)
    {
        http.Response.BodyWriter.Write(frame);
        return Flush(http.Response.BodyWriter, http);
    }

    internal override void Abort() => http.Abort();

    /// <summary>
    /// Flushes the answer; false if the client is gone (a <paramref name="whole"/> answer counts as
    /// written once flushed: nothing follows it).
    /// </summary>
    internal static ValueTask<bool> Flush(PipeWriter writer, HttpContext http, bool whole = false)
    {
        var flush = writer.FlushAsync(http.RequestAborted);
        return flush.IsCompletedSuccessfully ? ValueTask.FromResult(whole || Open(flush.Result)) : AwaitAsync(flush, whole);

        static async ValueTask<bool> AwaitAsync(ValueTask<FlushResult> flush, bool whole) => Open(await flush) || whole;
        static bool Open(FlushResult result) => !result.IsCanceled && !result.IsCompleted;
    }
}
