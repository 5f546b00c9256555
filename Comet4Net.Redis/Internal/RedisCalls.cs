using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Comet4Net.Redis.Internal;

/// <summary>A Redis call whose failure the node rides out: logged, and the node goes on with what it holds.</summary>
internal static partial class RedisCalls
{
    internal static void Try(ILogger logger, Action action, string what)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogRedisFailed(logger, what, e);
        }
    }

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Comet4Net could not {What} in Redis; it goes on with what this node holds")]
    internal static partial void LogRedisFailed(ILogger logger, string what, Exception exception);
}
