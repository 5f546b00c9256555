namespace Comet4Net.Connections;

/// <summary>One request of the host (an HTTP request in Comet4Net.Web) attached to a connection. Ended when superseded, dropped or timed out.</summary>
internal sealed class Attachment(object? native)
{
    private readonly CancellationTokenSource _cts = new();
    private int _superseded;

    internal object? Native { get; } = native;

    /// <summary>Cancelled when a newer request takes over or the connection is dropped.</summary>
    internal CancellationToken Ended => _cts.Token;

    internal bool WasSuperseded => Volatile.Read(ref _superseded) == 1;

    internal void Supersede()
    {
        Volatile.Write(ref _superseded, 1);
        End();
    }

    internal void End()
    {
        try { _cts.Cancel(); } catch (ObjectDisposedException) { }
    }
}
