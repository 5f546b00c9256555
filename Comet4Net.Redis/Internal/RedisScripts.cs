namespace Comet4Net.Redis.Internal;

/// <summary>The Lua scripts: numbering and appending are one atomic step in Redis, so numbers never reorder.</summary>
internal static class RedisScripts
{
    /// <summary>
    /// The part both scripts share (KEYS[1]: seq, KEYS[2]: epoch; ARGV[1]: a new epoch, ARGV[2]: the
    /// base of a new log): if Redis holds no log, start one, numbering above every earlier one.
    /// </summary>
    private const string StartLog = """
        local epoch = redis.call('GET', KEYS[2])
        if not epoch then
          epoch = ARGV[1]
          redis.call('SET', KEYS[2], epoch)
          local current = tonumber(redis.call('GET', KEYS[1]) or '0')
          if current < tonumber(ARGV[2]) then redis.call('SET', KEYS[1], ARGV[2]) end
        end

        """;

    /// <summary>KEYS: seq, epoch. ARGV: a new epoch, the base of a new log. Returns {last seq, epoch}.</summary>
    internal const string Init = StartLog + """
        return {redis.call('GET', KEYS[1]), epoch}
        """;

    /// <summary>
    /// Group commit. KEYS: seq, epoch, stream, then each send's id key. ARGV: a new epoch, the base of
    /// a new log, max stream length, the wake channel, this node's name, then each send's payload (as
    /// many as id keys). Takes the next number for each send in turn, appends it with that number as its
    /// stream id, and wakes the nodes once with "last id node"; a send already appended (a retry)
    /// gets its number again. Returns {epoch, seq of each send}.
    /// </summary>
    internal const string Append = StartLog + """
        local result = {epoch}
        local last = nil
        for i = 4, #KEYS do
          local done = redis.call('GET', KEYS[i])
          if done then
            result[#result + 1] = done
          else
            local seq = string.format('%.0f', redis.call('INCR', KEYS[1]))
            last = seq .. '-0'
            redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], last, 'p', ARGV[i + 2], 'e', epoch)
            redis.call('SET', KEYS[i], seq, 'EX', 60)
            result[#result + 1] = seq
          end
        end
        if last then redis.call('PUBLISH', ARGV[4], last .. ' ' .. ARGV[5]) end
        return result
        """;
}
