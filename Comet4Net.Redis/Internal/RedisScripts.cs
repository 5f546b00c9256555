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
    /// KEYS: seq, epoch, stream, the send's id key. ARGV: a new epoch, the base of a new log, payload,
    /// max stream length, the wake channel. Takes the next number, appends the message with that number
    /// as its stream id, and wakes the nodes; a send already appended (a retry) returns its number
    /// again. Returns {seq, epoch}.
    /// </summary>
    internal const string Append = StartLog + """
        local done = redis.call('GET', KEYS[4])
        if done then return {done, epoch} end
        local seq = redis.call('INCR', KEYS[1])
        local id = string.format('%.0f', seq) .. '-0'
        redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], id, 'p', ARGV[3], 'e', epoch)
        redis.call('PUBLISH', ARGV[5], id)
        redis.call('SET', KEYS[4], string.format('%.0f', seq), 'EX', 60)
        return {string.format('%.0f', seq), epoch}
        """;
}
