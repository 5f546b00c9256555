using System.IO.Pipelines;
using System.Net.WebSockets;
using Comet4Net.Delivery;
using Comet4Net.Web.Internal.Commands;
using Microsoft.AspNetCore.Http;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>
/// The <c>websocket</c> work style: the v2 frames of <c>stream</c>, one text message per write (a
/// single frame is the shared frame itself, sent with no copy; several go out of a pooled buffer),
/// no deadline (a socket lives until either side closes it), and the replies to the client's
/// commands, which <see cref="WebSocketReader"/> hands over and the loop writes between deliveries,
/// so the socket has one writer. A resume is a new socket opened with <c>cmd=revival&amp;ack=N</c>,
/// as for every other style.
/// </summary>
internal sealed class WebSocketSink(CometEngine engine, CometConnection connection, HttpContext http, FrameWriter frames,
    IReadOnlyDictionary<string, IConnectionCommand> commands) : FrameSink(frames)
{
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(2);

    private WebSocket? _socket;
    private RequestScope? _scope;
    private ValueTask<ReadResult> _peek; // the idle socket's read of the connection's input
    private Action? _onReadable;      // made when the socket first goes idle, reused
    private TaskCompletionSource? _readerDone; // made only when the loop ends before the reader
    private bool _readerEnded;
    private Exception? _readerError;
    private List<SinkReply>? _replies; // made on the first command: an idle socket keeps none
    private bool _finished;
    private volatile bool _commandRunning;

    internal override bool Held => true;
    internal override bool Timed => false;
    internal override int MaxBatch => 500;

    internal WebSocket Socket => _socket!;

    /// <summary>The connection's input below the socket, if this server upgraded the request (see <see cref="WebSocketAccept"/>).</summary>
    internal PipeReader? Input { get; private set; }

    internal RequestScope Scope => _scope!;
    internal CometEngine Engine => engine;
    internal CometConnection Connection => connection;
    internal IReadOnlyDictionary<string, IConnectionCommand> Commands => commands;

    internal override async ValueTask<bool> OpenAsync(RequestScope scope)
    {
        (_socket, Input) = await WebSocketAccept.AcceptAsync(http);
        _scope = scope;
        WebSocketReader.Start(this);
        return true;
    }

    /// <summary>The reader waits for bytes: <see cref="WebSocketReader.Resume"/> runs when they come.</summary>
    internal void Park(ValueTask<ReadResult> peek)
    {
        _peek = peek;
        peek.GetAwaiter().UnsafeOnCompleted(_onReadable ??= () => WebSocketReader.Resume(this));
    }

    /// <summary>The completed read of the input, once.</summary>
    internal ValueTask<ReadResult> TakePeek()
    {
        var peek = _peek;
        _peek = default;
        return peek;
    }

    internal void ReaderFailed(Exception e) => _readerError = e;

    /// <summary>The reader is done for good (the client closed, broke the rules or went away).</summary>
    internal void ReaderEnded()
    {
        TaskCompletionSource? done;
        lock (this)
        {
            _readerEnded = true;
            done = _readerDone;
        }
        done?.TrySetResult();
    }

    internal override ValueTask<bool> WriteAsync(byte[]? gap, List<CometMessage> batch, long bytes)
    {
        if (gap is null && batch.Count == 1) return WriteAsync(Frames.Frame(batch[0])); // the shared frame itself, no copy
        // Several frames in one message: a pooled buffer for this write only (nothing kept per connection).
        var buffer = ArrayPool<byte>.Shared.Rent((int)bytes);
        var at = 0;
        if (gap is not null) { gap.CopyTo(buffer, at); at += gap.Length; }
        foreach (var m in batch) { var f = Frames.Frame(m); f.CopyTo(buffer, at); at += f.Length; }
        return SendPooledAsync(buffer, at);
    }

    private async ValueTask<bool> SendPooledAsync(byte[] buffer, int length)
    {
        try
        {
            await Socket.SendAsync(buffer.AsMemory(0, length), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal override ValueTask<bool> WriteAsync(byte[] frame)
    {
        ValueTask send;
        try
        {
            send = Socket.SendAsync(frame.AsMemory(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<bool>(e); // the loop decides what a failed send means
        }
        return send.IsCompletedSuccessfully ? ValueTask.FromResult(true) : AwaitAsync(send);

        static async ValueTask<bool> AwaitAsync(ValueTask send)
        {
            await send;
            return true;
        }
    }

    internal override ValueTask EndAsync(EndReason reason) =>
        new(CloseAsync(Socket, reason is EndReason.Dropped or EndReason.TokenExpired ? WebSocketCloseStatus.PolicyViolation : WebSocketCloseStatus.NormalClosure,
            reason == EndReason.TokenExpired ? TokenRefresh.ExpiredType : null));

    internal override void Abort()
    {
        _socket?.Abort();
        http.Abort(); // the socket's stream is Kestrel's: a pending read of its input ends with the connection
    }

    internal override bool HoldsDeliveries => _commandRunning;

    /// <summary>A command of the client's starts: deliveries wait until <see cref="CommandDone"/>.</summary>
    internal void CommandStarts() => _commandRunning = true;

    /// <summary>The command is answered: deliveries go on.</summary>
    internal void CommandDone(RequestScope scope)
    {
        _commandRunning = false;
        scope.Poke();
    }

    /// <summary>Queues a reply for the loop to write; the task says whether it went out.</summary>
    internal Task<bool> ReplyAsync(byte[] frame, RequestScope scope)
    {
        var sent = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (this)
        {
            if (_finished) return Task.FromResult(false);
            (_replies ??= []).Add(new SinkReply(frame, sent));
        }
        scope.Poke();
        return sent.Task;
    }

    internal override bool TryTakeReply(out SinkReply reply)
    {
        lock (this)
        {
            if (_replies is not { Count: > 0 } replies)
            {
                reply = default;
                return false;
            }
            reply = replies[0];
            replies.RemoveAt(0);
            return true;
        }
    }

    /// <summary>
    /// Stops the reader. It holds no token (a token source per idle socket): it ends with the client's
    /// close reply, or when the socket is aborted because none came.
    /// </summary>
    internal override async ValueTask FinishAsync(RequestScope scope)
    {
        scope.End();
        lock (this)
        {
            _finished = true;
            foreach (var r in _replies ?? []) r.Sent.TrySetResult(false);
            _replies?.Clear();
        }
        if (_socket is null) return;
        using var socket = _socket;
        Task reading;
        lock (this) reading = _readerEnded ? Task.CompletedTask : (_readerDone ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        if (!reading.IsCompleted)
        {
            try
            {
                await reading.WaitAsync(CloseWait);
            }
            catch (TimeoutException)
            {
                Abort();
            }
        }
        await reading;
        if (_readerError is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
    }

    internal static async Task CloseAsync(WebSocket socket, WebSocketCloseStatus status, string? reason = null)
    {
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await socket.CloseOutputAsync(status, reason, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (Exception e) when (e is WebSocketException or IOException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}
