using Comet4Net.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using System.Threading.Tasks.Sources;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>Why a held request stopped waiting.</summary>
internal enum EndReason
{
    None,
    Timeout,
    ClientGone,
    Superseded,
    Dropped,
    TokenExpired, // the connection's signed token expired: a v2 answer ends with token-expired (TokenRefresh)
}

/// <summary>
/// One request attached to a connection for its lifetime: the timeout, the client going away and a
/// newer request taking over all end it; <see cref="WaitAsync"/> wakes on any of them or on new
/// messages. Detaches (raising Dying) when disposed. The scope is itself what the loop awaits (one
/// reusable completion, no task or task source per wait).
/// </summary>
internal sealed class RequestScope : IDisposable, IValueTaskSource, IRequestWaker
{
    private readonly AttachedRequest _request;
    private readonly CancellationTokenRegistration _aborted;
    private readonly HttpContext _context;
    private readonly Action _wakeAction;      // runs the writer inline: for shared signals, whose continuations already run on the pool
    private ManualResetValueTaskSourceCore<bool> _wake; // continuations inline: see WaitAsync
    private int _armed; // 1 while a wait is pending and not yet woken
    private Task? _onBroadcast, _onHeartbeat;
    private int _closedByClient;
    private int _poked;

    // timeout: end the request at Comet:Timeout (HTTP answers); a WebSocket lives until either side closes it.
    // tookOver: the caller ran engine.Host.TakeOverAsync (see StartAsync).
    // An idle held request keeps no token source, timer or linked registrations of its own: the
    // attachment says when it was superseded or dropped, the engine's tick ends it at its deadline,
    // and one registration on the request's abort token notices a client that went away.
    internal RequestScope(CometEngine engine, CometConnection connection, HttpContext context, bool timeout = true, bool tookOver = false)
    {
        _context = context;
        _wakeAction = Wake;
        _request = engine.Host.Attach(connection, context, timeout, tookOver);
        _request.SetWaker(this); // IRequestWaker.Wake queues the writer: for wake-ups from a sender's or a timer's thread
        _request.OnEnd(this);
        _aborted = context.RequestAborted.UnsafeRegister(static s => ((RequestScope)s!).WakeLater(), this);
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    /// <summary>Takes the connection over on this node (without holding a thread on the backplane), then attaches the request.</summary>
    internal static async ValueTask<RequestScope> StartAsync(CometEngine engine, CometConnection connection, HttpContext context, bool timeout = true)
    {
        await engine.Host.TakeOverAsync(connection);
        return new RequestScope(engine, connection, context, timeout, tookOver: true);
    }

    /// <summary>The request as the engine holds it: what is due, the legacy cursor, the signals.</summary>
    internal AttachedRequest Request => _request;

    internal bool IsEnded =>
        _request.IsEnded || Volatile.Read(ref _closedByClient) == 1 || _context.RequestAborted.IsCancellationRequested || _request.Connection.State == ConnectionState.Dropped;

    internal EndReason Reason
    {
        get
        {
            if (_request.Connection.State == ConnectionState.Dropped) return EndReason.Dropped;
            if (_request.WasSuperseded) return EndReason.Superseded;
            if (_context.RequestAborted.IsCancellationRequested || Volatile.Read(ref _closedByClient) == 1) return EndReason.ClientGone;
            return _request.TimedOut ? EndReason.Timeout : EndReason.None;
        }
    }

    /// <summary>The signals to take before checking for work (so that no pulse is missed).</summary>
    internal (Task Broadcast, long Private) Signals() => (_request.BroadcastSignal, _request.PrivateVersion);

    /// <summary>
    /// Waits for a broadcast, a private message, the end of the request or (streams) a heartbeat
    /// tick. Each shared signal gets one registration per request and signal instance, never one
    /// per wait: <c>Task.WhenAny</c> over shared tasks would add and then remove a continuation on
    /// every wake, which costs O(connections) per connection on each broadcast.
    /// </summary>
    internal ValueTask WaitAsync((Task Broadcast, long Private) signals, bool heartbeat)
    {
        // Continuations run inline: the broadcast and heartbeat signals complete on pool threads
        // (one work item per waiter, not two); other wake-ups go through WakeLater.
        _wake.Reset();
        Volatile.Write(ref _armed, 1);
        Register(ref _onBroadcast, signals.Broadcast);
        var beat = heartbeat ? _request.HeartbeatSignal : null;
        if (beat is not null) Register(ref _onHeartbeat, beat);
        // A signal that fired before this wake was published woke the previous one: look again.
        if (signals.Broadcast.IsCompleted || _request.PrivateVersion != signals.Private || beat?.IsCompleted == true || IsEnded
            || Interlocked.Exchange(ref _poked, 0) == 1)
            Wake();
        return new ValueTask(this, _wake.Version);
    }

    private void Register(ref Task? registered, Task signal)
    {
        if (ReferenceEquals(registered, signal)) return;
        registered = signal;
        signal.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_wakeAction);
    }

    // Only the first wake-up of a wait completes it; the others (and those between waits) find it done.
    private void Wake()
    {
        if (Interlocked.Exchange(ref _armed, 0) == 1) _wake.SetResult(true);
    }

    void IValueTaskSource.GetResult(short token) => _wake.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _wake.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wake.OnCompleted(continuation, state, token, flags);

    /// <summary>Ends the request from the server side (a WebSocket that the client closed).</summary>
    internal void End()
    {
        Volatile.Write(ref _closedByClient, 1);
        WakeLater();
    }

    /// <summary>Wakes the loop for work of the request's own (a reply waiting in a socket's sink).</summary>
    internal void Poke()
    {
        Volatile.Write(ref _poked, 1);
        WakeLater();
    }

    void IRequestWaker.Wake() => WakeLater();

    private void WakeLater()
    {
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Wake(), this, preferLocal: false);
    }

    public void Dispose()
    {
        _request.ClearWaker((IRequestWaker)this);
        _aborted.Dispose();
        _request.Detach();
    }
}
