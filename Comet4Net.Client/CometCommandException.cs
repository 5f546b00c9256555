namespace Comet4Net.Client;

/// <summary>A channel command (sub, unsub, pub, count) the server answered with an error, or that could not reach it.</summary>
public sealed class CometCommandException(int status, string? error, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The HTTP status (0 when the network failed).</summary>
    public int Status { get; } = status;

    /// <summary>The protocol's error code (<c>refused</c>, <c>forbidden</c>, <c>bad-request</c>, <c>too-large</c>, …), if any.</summary>
    public string? Error { get; } = error;

    /// <summary>True when a subscribe listener or the channel's rules said no.</summary>
    public bool IsRefused => Status == 403;
}
