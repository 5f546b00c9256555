namespace Comet4Net.Events;

/// <summary>Raised when a listener throws or a transport fails; delivery to others goes on.</summary>
public sealed class ErrorEvent(CometEngine engine, CometConnection? connection, Exception exception, CometEvent? source)
    : CometEvent(engine, connection)
{
    /// <summary>What was thrown.</summary>
    public Exception Exception { get; } = exception;

    /// <summary>The event whose listener threw, if any.</summary>
    public CometEvent? Source { get; } = source;
}
