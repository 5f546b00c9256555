using Comet4Net.Delivery;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>
/// One work style as the delivery loop sees it (SignalR's IHttpTransport, centrifuge's Transport):
/// how bytes are framed (<see cref="Frames"/>), how a write goes out and is flushed, when an answer
/// ends, what a send timeout does. The rules (gap first, heartbeat when idle, superseded, deadline,
/// acks, send timeout, the legacy cursor) are <see cref="DeliveryLoop"/>'s alone.
/// </summary>
/// <remarks>
/// Every write returns the task the loop waits on (and gives up on after SendTimeout where
/// <see cref="HasSendTimeout"/>); a sink takes the frames it is given before it returns, so the loop
/// can reuse its batch list.
/// </remarks>
internal abstract class FrameSink(FrameWriter frames)
{
    /// <summary>The dialect's bytes.</summary>
    internal FrameWriter Frames => frames;

    /// <summary>True: the answer goes on after a write (stream, sse, websocket); false: a write ends it (lpool).</summary>
    internal abstract bool Held { get; }

    /// <summary>True: the request ends at Comet:Timeout (HTTP answers); a socket lives until either side closes it.</summary>
    internal virtual bool Timed => true;

    /// <summary>The most messages in one write.</summary>
    internal abstract int MaxBatch { get; }

    /// <summary>Whether a write that takes longer than SendTimeout is given up (and <see cref="Abort"/> called).</summary>
    internal virtual bool HasSendTimeout => true;

    /// <summary>The bytes <see cref="OpenAsync"/> writes.</summary>
    internal virtual int OpenBytes => 0;

    /// <summary>Starts the answer once the request is attached (a held answer's headers and first bytes). False: the client is gone.</summary>
    internal virtual ValueTask<bool> OpenAsync(RequestScope scope) => ValueTask.FromResult(true);

    /// <summary>One write: the gap notice (if any), then the frames of <paramref name="batch"/>, <paramref name="bytes"/> in all.</summary>
    internal abstract ValueTask<bool> WriteAsync(byte[]? gap, List<CometMessage> batch, long bytes);

    /// <summary>One write of one frame (a heartbeat, the last frame, a reply).</summary>
    internal abstract ValueTask<bool> WriteAsync(byte[] frame);

    /// <summary>Ends the answer for <paramref name="reason"/>, after its last frame (if it had one) was written.</summary>
    internal virtual ValueTask EndAsync(EndReason reason) => ValueTask.CompletedTask;

    /// <summary>What a send timeout does: the client that does not read loses its request.</summary>
    internal abstract void Abort();

    /// <summary>A reply waiting to go out (a socket's answers to its commands), written by the loop between deliveries.</summary>
    internal virtual bool TryTakeReply(out SinkReply reply)
    {
        reply = default;
        return false;
    }

    /// <summary>
    /// True while a command of the client's is running (a socket): deliveries wait, so that its reply
    /// goes out before the messages it caused (a <c>pub</c>'s report before its own message).
    /// </summary>
    internal virtual bool HoldsDeliveries => false;

    /// <summary>Lets go of what the sink holds once the loop is done (a socket's reader).</summary>
    internal virtual ValueTask FinishAsync(RequestScope scope) => ValueTask.CompletedTask;

    /// <summary>The sum of the frames' lengths.</summary>
    internal long Length(byte[]? gap, List<CometMessage> batch)
    {
        long length = gap?.Length ?? 0;
        foreach (var m in batch) length += frames.Frame(m).Length;
        return length;
    }
}

/// <summary>A reply frame and who waits for it to be sent.</summary>
internal readonly record struct SinkReply(byte[] Frame, TaskCompletionSource<bool> Sent);
