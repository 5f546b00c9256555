namespace Comet4Net.Connections;

/// <summary>
/// One request of the host (an HTTP request in Comet4Net.Web) attached to a connection. Ended when
/// superseded, dropped or past its deadline; the host learns it through <see cref="OnEnd(Action)"/>.
/// </summary>
/// <remarks>
/// No token source and no timer per request: an idle held request costs a few fields here, and
/// the engine's one timer ends the requests past their deadline (<see cref="CometEngine.EndOverdueRequests"/>).
/// </remarks>
internal sealed class Attachment(object? native)
{
    private int _ended, _superseded, _timedOut;
    private object? _onEnd; // an Action or an IRequestWaker

    internal object? Native { get; } = native;

    /// <summary>When the request ends by itself (a timestamp of the engine's clock); 0: never (a WebSocket).</summary>
    internal long Deadline { get; set; }

    /// <summary>True once superseded, dropped or past its deadline.</summary>
    internal bool IsEnded => Volatile.Read(ref _ended) == 1;

    internal bool WasSuperseded => Volatile.Read(ref _superseded) == 1;

    internal bool TimedOut => Volatile.Read(ref _timedOut) == 1;

    /// <summary>Runs <paramref name="action"/> when the attachment ends (at once if it already has; it may run twice: keep it idempotent).</summary>
    internal void OnEnd(Action action) => OnEnd((object)action);

    /// <summary>Wakes <paramref name="waker"/> when the attachment ends (as <see cref="OnEnd(Action)"/>).</summary>
    internal void OnEnd(Hosting.IRequestWaker waker) => OnEnd((object)waker);

    private void OnEnd(object action)
    {
        Interlocked.Exchange(ref _onEnd, action);
        if (IsEnded) Run(action);
    }

    /// <summary>Calls a wake-up given as an <see cref="Action"/> or an <see cref="Hosting.IRequestWaker"/>.</summary>
    internal static void Run(object? wake)
    {
        if (wake is Hosting.IRequestWaker waker) waker.Wake();
        else (wake as Action)?.Invoke();
    }

    /// <summary>A newer request took over.</summary>
    internal void Supersede()
    {
        Volatile.Write(ref _superseded, 1);
        End();
    }

    /// <summary>The request's time is up (Comet:Timeout).</summary>
    internal void TimeOut()
    {
        if (IsEnded) return;
        Volatile.Write(ref _timedOut, 1);
        End();
    }

    internal void End()
    {
        if (Interlocked.Exchange(ref _ended, 1) == 0) Run(Volatile.Read(ref _onEnd));
    }
}
