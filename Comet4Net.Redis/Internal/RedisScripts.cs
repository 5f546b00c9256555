namespace Comet4Net.Redis.Internal;

/// <summary>The Lua scripts: numbering and appending are one atomic step in Redis, so numbers never reorder.</summary>
internal static class RedisScripts
{
    /// <summary>
    /// KEYS: seq, epoch. ARGV: a new epoch, the base of a new log. Starts a log (epoch + numbering
    /// above every earlier one) if Redis holds none; returns {last seq, epoch}.
    /// </summary>
    internal const string Init = """
        local epoch = redis.call('GET', KEYS[2])
        if not epoch then
          epoch = ARGV[1]
          redis.call('SET', KEYS[2], epoch)
          local current = tonumber(redis.call('GET', KEYS[1]) or '0')
          if current < tonumber(ARGV[2]) then redis.call('SET', KEYS[1], ARGV[2]) end
        end
        return {redis.call('GET', KEYS[1]), epoch}
        """;

    /// <summary>
    /// KEYS: seq, stream, epoch. ARGV: payload, max stream length, a new epoch, the base of a new
    /// log, the wake channel. Starts a new log if Redis lost it, takes the next number, appends the
    /// message with that number as its stream id, and wakes the nodes. Returns {seq, epoch}.
    /// </summary>
    internal const string Append = """
        local epoch = redis.call('GET', KEYS[3])
        if not epoch then
          epoch = ARGV[3]
          redis.call('SET', KEYS[3], epoch)
          local current = tonumber(redis.call('GET', KEYS[1]) or '0')
          if current < tonumber(ARGV[4]) then redis.call('SET', KEYS[1], ARGV[4]) end
        end
        local seq = redis.call('INCR', KEYS[1])
        local id = string.format('%.0f', seq) .. '-0'
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], id, 'p', ARGV[1], 'e', epoch)
        redis.call('PUBLISH', ARGV[5], id)
        return {string.format('%.0f', seq), epoch}
        """;
}
