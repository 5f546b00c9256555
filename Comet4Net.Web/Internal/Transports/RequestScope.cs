using Comet4Net.Connections;
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
    private readonly CancellationTokenRegistration _aborted;
    private readonly HttpContext _context;
    private readonly Action _wakeAction;      // runs the writer inline: for shared signals, whose continuations already run on the pool
    private readonly Action _wakeLaterAction; // queues the writer: for wake-ups from a sender's or a timer's thread
    private TaskCompletionSource? _wake;
    private Task? _onBroadcast, _onHeartbeat;
    private int _closedByClient;
    private int _poked;

    // timeout: end the request at Comet:Timeout (HTTP answers); a WebSocket lives until either side closes it.
    // tookOver: the caller ran engine.TakeOverAsync (see StartAsync).
    // An idle held request keeps no token source, timer or linked registrations of its own: the
    // attachment says when it was superseded or dropped, the engine's tick ends it at its deadline,
    // and one registration on the request's abort token notices a client that went away.
    internal RequestScope(CometEngine engine, CometConnection connection, HttpContext context, bool timeout = true, bool tookOver = false)
    {
        _engine = engine;
        _connection = connection;
        _context = context;
        _wakeAction = Wake;
        _wakeLaterAction = WakeLater;
        Attachment = engine.Attach(connection, context, tookOver);
        if (timeout) Attachment.Deadline = engine.DeadlineAfter(engine.Options.Timeout);
        connection.SetWaker(_wakeLaterAction);
        Attachment.OnEnd(_wakeLaterAction);
        _aborted = context.RequestAborted.UnsafeRegister(static s => ((RequestScope)s!).WakeLater(), this);
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    /// <summary>Takes the connection over on this node (without holding a thread on the backplane), then attaches the request.</summary>
    internal static async ValueTask<RequestScope> StartAsync(CometEngine engine, CometConnection connection, HttpContext context, bool timeout = true)
    {
        await engine.TakeOverAsync(connection);
        return new RequestScope(engine, connection, context, timeout, tookOver: true);
    }

    internal Attachment Attachment { get; }

    internal bool IsEnded =>
        Attachment.IsEnded || Volatile.Read(ref _closedByClient) == 1 || _context.RequestAborted.IsCancellationRequested || _connection.State == ConnectionState.Dropped;

    internal EndReason Reason
    {
        get
        {
            if (_connection.State == ConnectionState.Dropped) return EndReason.Dropped;
            if (Attachment.WasSuperseded) return EndReason.Superseded;
            if (_context.RequestAborted.IsCancellationRequested || Volatile.Read(ref _closedByClient) == 1) return EndReason.ClientGone;
            return Attachment.TimedOut ? EndReason.Timeout : EndReason.None;
        }
    }

    /// <summary>The signals to take before checking for work (so that no pulse is missed).</summary>
    internal (Task Broadcast, long Private) Signals() => (_engine.Delivery.BroadcastSignal.WaitTask, _connection.PrivateVersion);

    /// <summary>
    /// Waits for a broadcast, a private message, the end of the request or (streams) a heartbeat
    /// tick. Each shared signal gets one registration per request and signal instance, never one
    /// per wait: <c>Task.WhenAny</c> over shared tasks would add and then remove a continuation on
    /// every wake, which costs O(connections) per connection on each broadcast.
    /// </summary>
    internal Task WaitAsync((Task Broadcast, long Private) signals, bool heartbeat)
    {
        // Continuations run inline: the broadcast and heartbeat signals complete on pool threads
        // (one work item per waiter, not two); other wake-ups go through WakeLater.
        var wake = new TaskCompletionSource();
        Volatile.Write(ref _wake, wake);
        Register(ref _onBroadcast, signals.Broadcast);
        var beat = heartbeat ? _engine.Delivery.HeartbeatSignal.WaitTask : null;
        if (beat is not null) Register(ref _onHeartbeat, beat);
        // A signal that fired before this wake was published woke the previous one: look again.
        if (signals.Broadcast.IsCompleted || _connection.PrivateVersion != signals.Private || beat?.IsCompleted == true || IsEnded
            || Interlocked.Exchange(ref _poked, 0) == 1)
            wake.TrySetResult();
        return wake.Task;
    }

    private void Register(ref Task? registered, Task signal)
    {
        if (ReferenceEquals(registered, signal)) return;
        registered = signal;
        signal.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_wakeAction);
    }

    private void Wake() => Volatile.Read(ref _wake)?.TrySetResult();

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

    private void WakeLater()
    {
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Wake(), this, preferLocal: false);
    }

    public void Dispose()
    {
        _connection.ClearWaker(_wakeLaterAction);
        _aborted.Dispose();
        _engine.Detach(_connection, Attachment);
    }
}
