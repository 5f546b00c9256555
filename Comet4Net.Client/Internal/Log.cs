using Microsoft.Extensions.Logging;

namespace Comet4Net.Client.Internal;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Connected to {Endpoint} as {ConnectionId}, transport {Transport}")]
    internal static partial void Connected(ILogger logger, Uri endpoint, string connectionId, CometTransport transport);

    [LoggerMessage(2, LogLevel.Debug, "Transport {Transport} ended: {Kind} ({Message}), opened {Opened}, {Frames} frames; next try in {Delay} ms")]
    internal static partial void RunEnded(ILogger logger, CometTransport transport, RunKind kind, string? message, bool opened, int frames, double delay);

    [LoggerMessage(3, LogLevel.Information, "Transport {Previous} -> {Current}: {Reason}")]
    internal static partial void TransportChanged(ILogger logger, CometTransport? previous, CometTransport current, string reason);

    [LoggerMessage(4, LogLevel.Warning, "Gap: messages {From}..{To} are lost ({Reason})")]
    internal static partial void Gap(ILogger logger, long from, long? to, string reason);

    [LoggerMessage(5, LogLevel.Warning, "Stopped: {Reason} {Message}")]
    internal static partial void Stopped(ILogger logger, CometStopReason reason, string? message);

    [LoggerMessage(6, LogLevel.Error, "A handler for {Name} failed")]
    internal static partial void HandlerFailed(ILogger logger, string name, Exception exception);

    [LoggerMessage(7, LogLevel.Debug, "Connect failed: {Kind} {Message}")]
    internal static partial void ConnectFailed(ILogger logger, RunKind kind, string? message);

    [LoggerMessage(8, LogLevel.Warning, "A line of the wire is not a frame: {Line}")]
    internal static partial void BadFrame(ILogger logger, string line);

    [LoggerMessage(9, LogLevel.Warning, "A try failed in an unexpected way; counted as a network failure")]
    internal static partial void Unexpected(ILogger logger, Exception exception);
}
