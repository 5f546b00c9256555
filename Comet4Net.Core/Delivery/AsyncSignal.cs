namespace Comet4Net.Delivery;

/// <summary>
/// A pulse that wakes every waiter at once. Waiters take <see cref="WaitTask"/> first, then check
/// for work, then await: a pulse between the check and the await is never missed.
/// </summary>
internal sealed class AsyncSignal
{
    private TaskCompletionSource _tcs = NewSource();

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal Task WaitTask => Volatile.Read(ref _tcs).Task;

    internal void Pulse()
    {
        var old = Interlocked.Exchange(ref _tcs, NewSource());
        old.TrySetResult();
    }
}
