using Comet4Net.Delivery;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>Why a held request stopped waiting.</summary>
internal enum EndReason
{
    None,
    Timeout,
    ClientGone,
    Superseded,
    Dropped,
}

/// <summary>
/// One request attached to a connection for its lifetime: the timeout, the client going away and a
/// newer request taking over all end it; <see cref="WaitAsync"/> wakes on any of them or on new
/// messages. Detaches (raising Dying) when disposed.
/// </summary>
internal sealed class RequestScope : IDisposable
{
    private readonly CometEngine _engine;
    private readonly CometConnection _connection;
    private readonly CancellationTokenSource _cts;
    private readonly CancellationTokenRegistration _registration;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HttpContext _context;

    internal RequestScope(CometEngine engine, CometConnection connection, HttpContext context)
    {
        _engine = engine;
        _connection = connection;
        _context = context;
        Attachment = engine.Attach(connection, context);
        _cts = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, Attachment.Ended);
        _cts.CancelAfter(engine.Options.Timeout);
        _registration = _cts.Token.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), _ended);
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    internal Attachment Attachment { get; }

    internal CancellationToken Token => _cts.Token;

    internal bool IsEnded => _cts.IsCancellationRequested || _connection.State == ConnectionState.Dropped;

    internal EndReason Reason
    {
        get
        {
            if (_connection.State == ConnectionState.Dropped) return EndReason.Dropped;
            if (Attachment.WasSuperseded) return EndReason.Superseded;
            if (_context.RequestAborted.IsCancellationRequested) return EndReason.ClientGone;
            return _cts.IsCancellationRequested ? EndReason.Timeout : EndReason.None;
        }
    }

    /// <summary>The signals to take before checking for work (so that no pulse is missed).</summary>
    internal (Task Broadcast, Task Private) Signals() => (_engine.BroadcastSignal.WaitTask, _connection.Signal.WaitTask);

    internal Task WaitAsync((Task Broadcast, Task Private) signals, bool heartbeat) =>
        heartbeat
            ? Task.WhenAny(signals.Broadcast, signals.Private, _ended.Task, _engine.HeartbeatSignal.WaitTask)
            : Task.WhenAny(signals.Broadcast, signals.Private, _ended.Task);

    /// <summary>Flushes, giving up (and aborting the request) after SendTimeout. Returns false if the client is gone.</summary>
    internal async ValueTask<bool> FlushAsync(int frames, long bytes)
    {
        try
        {
            var flush = _context.Response.BodyWriter.FlushAsync(_context.RequestAborted);
            var result = flush.IsCompleted
                ? flush.Result
                : await flush.AsTask().WaitAsync(TimeSpan.FromMilliseconds(_engine.Options.SendTimeout));
            _engine.Counters.AddWritten(frames, bytes);
            return !result.IsCanceled && !result.IsCompleted;
        }
        catch (TimeoutException)
        {
            // A client that does not read must not hold its writer: end its request.
            _engine.Counters.AddLimitHit();
            _context.Abort();
            return false;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        _registration.Dispose();
        _cts.Dispose();
        _engine.Detach(_connection, Attachment);
    }
}
