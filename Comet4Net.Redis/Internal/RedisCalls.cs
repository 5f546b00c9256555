using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Comet4Net.Redis.Internal;

/// <summary>
/// The Redis calls a node rides out when they fail: each failure is logged as one line per kind (what
/// was tried, why), at most once per <see cref="Quiet"/> with a count of the repeats, and with a stack
/// trace only when it is not the expected "Redis does not answer". Once the node is stopping, a call
/// whose Redis server is not connected is not made at all, so that a node stops at once with Redis down.
/// </summary>
internal sealed partial class RedisCalls(IConnectionMultiplexer redis, ILogger logger, TimeProvider time)
{
    /// <summary>How long the same kind of failure stays quiet after it was logged.</summary>
    internal static readonly TimeSpan Quiet = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<(int Event, string What, Type Kind), Repeats> _seen = new();
    private volatile bool _stopping;
    private volatile bool _gaveUp; // stopping, and a call failed: the calls after it are not made

    private sealed class Repeats
    {
        internal long LoggedAt = long.MinValue;
        internal int Since;
    }

    internal ILogger Logger => logger;

    /// <summary>
    /// The host's "stopping" signal. Read, not registered on: it is set before the host runs its
    /// stopping callbacks, whatever their order, so the engine's own (ending every connection) sees it.
    /// </summary>
    internal CancellationToken StopToken { get; set; }

    /// <summary>True once the host began to stop.</summary>
    internal bool Stopping => _stopping || StopToken.IsCancellationRequested;

    /// <summary>The host is stopping: from now on calls that cannot be answered now are not made.</summary>
    internal void BeginStop() => _stopping = true;

    /// <summary>
    /// True if a call on <paramref name="key"/> should not be made: the node is stopping and the Redis
    /// server that holds the key is not connected (or a call failed since the stop began).
    /// </summary>
    internal bool Skip(RedisKey key) => Stopping && (_gaveUp || !redis.GetDatabase().IsConnected(key));

    /// <summary>As <see cref="Skip(RedisKey)"/> for a call that names no key (pub/sub, the connection as a whole).</summary>
    internal bool Skip() => Stopping && (_gaveUp || !redis.IsConnected);

    /// <summary>Makes a call on <paramref name="key"/>; a failure (or a call skipped while stopping) is logged and the node goes on.</summary>
    internal void Try(RedisKey key, Action action, string what) => Run(Skip(key), action, what);

    /// <summary>As <see cref="Try(RedisKey, Action, string)"/> for calls that name no key or many (pub/sub, batches).</summary>
    internal void Try(Action action, string what) => Run(Skip(), action, what);

    private void Run(bool skip, Action action, string what)
    {
        if (skip)
        {
            Failed(what, null);
            return;
        }
        try
        {
            action();
        }
        catch (Exception e) when (Failure(e))
        {
            Failed(what, e);
        }
    }

    /// <summary>
    /// A failure the node rides out: Redis does not answer (or answers that it cannot serve now), or
    /// the node is stopping and the calls it had waiting for an unreachable Redis were abandoned.
    /// </summary>
    internal bool Failure(Exception e) => e is RedisException or TimeoutException || e is ObjectDisposedException && Stopping;

    /// <summary>A call that failed (null: skipped while the node stops), as event 301.</summary>
    internal void Failed(string what, Exception? exception) => Log(301, what, exception);

    /// <summary>
    /// Logs a failure of the kind <paramref name="eventId"/> (301: a call, 302: reading the stream,
    /// 303: appending), unless the same kind was logged less than <see cref="Quiet"/> ago (then it is counted).
    /// </summary>
    internal void Log(int eventId, string what, Exception? exception)
    {
        if (exception is not null && Stopping) _gaveUp = true;
        if (exception is null) (eventId, what) = (306, "skip"); // calls not made while stopping: one kind, whatever they were
        var repeats = _seen.GetOrAdd((eventId, what, exception?.GetType() ?? typeof(RedisCalls)), _ => new Repeats());
        var now = time.GetTimestamp();
        int since;
        lock (repeats)
        {
            if (repeats.LoggedAt != long.MinValue && time.GetElapsedTime(repeats.LoggedAt, now) < Quiet)
            {
                repeats.Since++;
                return;
            }
            repeats.LoggedAt = now;
            since = repeats.Since;
            repeats.Since = 0;
        }
        var reason = exception is null ? "" : exception is ObjectDisposedException ? "abandoned: the node is stopping and Redis is unreachable" : Reason(exception);
        var again = since == 0 ? "" : $" ({since} more like it in the last {(int)Quiet.TotalSeconds} s)";
        var stack = Expected(exception) ? null : exception;
        switch (eventId)
        {
            case 302: LogTailFailed(logger, reason, again, stack); break;
            case 303: LogAppendWaits(logger, reason, again, stack); break;
            case 306: LogStoppingSkips(logger, again); break;
            default: LogRedisFailed(logger, what, reason, again, stack); break;
        }
    }

    /// <summary>Redis not answering, or answering that it cannot serve now: an operator needs the line, not the stack.</summary>
    private static bool Expected(Exception? e) =>
        e is null or RedisConnectionException or RedisTimeoutException or TimeoutException or ObjectDisposedException
        || e is RedisServerException s && (s.Message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal) || s.Message.StartsWith("LOADING", StringComparison.Ordinal)
            || s.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal) || s.Message.StartsWith("MASTERDOWN", StringComparison.Ordinal));

    /// <summary>The exception's message without StackExchange.Redis's diagnostics (counters, thread pool figures), on one line.</summary>
    internal static string Reason(Exception e)
    {
        var text = e.Message.ReplaceLineEndings(" ");
        var cut = text.IndexOf(", mc:", StringComparison.Ordinal);
        if (cut < 0) cut = text.IndexOf(", command=", StringComparison.Ordinal);
        if (cut > 0) text = text[..cut];
        if (text.Length > 300) text = text[..300] + "…";
        return e.GetType().Name + ": " + text;
    }

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Comet4Net could not {What} in Redis ({Reason}); it goes on with what this node holds{Again}")]
    private static partial void LogRedisFailed(ILogger logger, string what, string reason, string again, Exception? exception);

    [LoggerMessage(EventId = 306, Level = LogLevel.Warning, Message = "Comet4Net is stopping while Redis is unreachable: it does not write the sessions, presence and users of the connections it ends (they expire in Redis by themselves; clients resume elsewhere from what Redis kept){Again}")]
    private static partial void LogStoppingSkips(ILogger logger, string again);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Comet4Net could not read the shared stream from Redis ({Reason}); this node serves what it holds and catches up when Redis answers{Again}")]
    private static partial void LogTailFailed(ILogger logger, string reason, string again, Exception? exception);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Comet4Net could not append to the shared stream in Redis ({Reason}); the message waits on this node and goes out, in order, when Redis answers{Again}")]
    private static partial void LogAppendWaits(ILogger logger, string reason, string again, Exception? exception);
}
