using Microsoft.Extensions.Logging;

namespace Comet4Net.Diagnostics;

/// <summary>The core's log lines, with event ids (1xx: connections, 2xx: delivery, 9xx: failures).</summary>
internal static partial class CometLog
{
    // The connection events' level is CometOptions.Debug's: Information when on, Debug when off.
    [LoggerMessage(EventId = 101, Message = "Comet connection {Id} opened from {Ip} ({Dialect}, {WorkStyle})")]
    internal static partial void ConnectionOpened(ILogger logger, LogLevel level, string id, string ip, CometDialect dialect, string workStyle);

    [LoggerMessage(EventId = 102, Message = "Comet connection {Id} removed ({Reason})")]
    internal static partial void ConnectionRemoved(ILogger logger, LogLevel level, string id, Events.DropReason reason);

    [LoggerMessage(EventId = 103, Message = "Comet connection {Id} resumed its session from {Ip}")]
    internal static partial void SessionResumed(ILogger logger, LogLevel level, string id, string ip);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Comet connection {Id} passed its backlog limit: {Dropped} messages dropped (policy {Policy})")]
    internal static partial void Overflow(ILogger logger, string id, int dropped, CometOverflowPolicy policy);

    [LoggerMessage(EventId = 202, Level = LogLevel.Error, Message = "Comet could not handle the overflows of messages from other nodes; the next overflow tries again")]
    internal static partial void OverflowsFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 901, Level = LogLevel.Error, Message = "Comet listener or transport failed ({Event})")]
    internal static partial void ListenerFailed(ILogger logger, string @event, Exception exception);

    [LoggerMessage(EventId = 902, Level = LogLevel.Error, Message = "Comet error listener failed")]
    internal static partial void ErrorListenerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 904, Level = LogLevel.Error, Message = "A Comet send made without waiting (SendToAll, SendTo, SendToUser) failed after it returned")]
    internal static partial void SendFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 903, Level = LogLevel.Error, Message = "Comet maintenance failed; it runs again at the next tick")]
    internal static partial void MaintenanceFailed(ILogger logger, Exception exception);
}
