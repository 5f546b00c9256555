namespace Comet4Net.Redis.Internal;

/// <summary>
/// The Lua scripts: numbering and appending are one atomic step in Redis, so numbers never reorder.
/// Each touches only the keys it is given, all of one hash slot (<see cref="RedisKeys"/>), so they run on a Redis Cluster.
/// </summary>
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
    /// Group commit. KEYS: seq, epoch, stream, then two per send: its id key and its idempotency key (the
    /// id key again for a send without one). ARGV: a new epoch, the base of a new log, max stream length,
    /// the wake channel, this node's name, then two per send: its payload and how long (ms) its
    /// idempotency key is kept. Takes the next number for each send in turn, appends it with that number
    /// as its stream id, and wakes the nodes once with "last id node"; a send already appended (a retry)
    /// gets its number again; a send whose idempotency key holds a number (a repeat within the window, from
    /// any node) is not appended and gets "d" and that number. The check and the append are one step.
    /// Returns {epoch, seq (or "d" seq) of each send}.
    /// </summary>
    internal const string Append = StartLog + """
        local result = {epoch}
        local last = nil
        for i = 1, (#KEYS - 3) / 2 do
          local sent, once = KEYS[2 + 2 * i], KEYS[3 + 2 * i]
          local done = redis.call('GET', sent)
          if not done and once ~= sent then
            local first = redis.call('GET', once)
            if first then
              done = 'd' .. first
              redis.call('SET', sent, done, 'EX', 60)
            end
          end
          if done then
            result[#result + 1] = done
          else
            local seq = string.format('%.0f', redis.call('INCR', KEYS[1]))
            last = seq .. '-0'
            redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], last, 'p', ARGV[4 + 2 * i], 'e', epoch)
            redis.call('SET', sent, seq, 'EX', 60)
            if once ~= sent then redis.call('SET', once, seq, 'PX', ARGV[5 + 2 * i]) end
            result[#result + 1] = seq
          end
        end
        if last then redis.call('PUBLISH', ARGV[4], last .. ' ' .. ARGV[5]) end
        return result
        """;

    /// <summary>
    /// A user's connection is held. KEYS: the users set (user → latest expiry), the user's set
    /// (connection → expiry). ARGV: user, connection, until, now (ms). Returns 1 if the user had no
    /// live connection in the cluster before (came online).
    /// </summary>
    internal const string UserJoin = """
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
        local before = redis.call('ZCARD', KEYS[2])
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
        redis.call('ZADD', KEYS[1], 'GT', ARGV[3], ARGV[1])
        if before == 0 then return 1 end
        return 0
        """;

    /// <summary>
    /// A user's connection left for good. KEYS: the users set, the user's set. ARGV: user, connection,
    /// now (ms). Returns 1 if that was the user's last live connection (went offline), 0 otherwise, and
    /// 0 if the connection was not there (its entry expired and was already reported).
    /// </summary>
    internal const string UserLeave = """
        local removed = redis.call('ZREM', KEYS[2], ARGV[2])
        if removed == 0 then return 0 end
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
        if redis.call('ZCARD', KEYS[2]) > 0 then return 0 end
        redis.call('DEL', KEYS[2])
        redis.call('ZREM', KEYS[1], ARGV[1])
        return 1
        """;

    /// <summary>
    /// Users whose entries may all have expired (their nodes stopped refreshing them), found by the
    /// caller in the users set. KEYS: the users set, then each user's set. ARGV: now (ms), then each
    /// user (as many as user sets). A user still in the users set whose connections all expired is
    /// removed and returned: whoever runs this first reports them, once; a user refreshed meanwhile
    /// gets the latest expiry of their connections back.
    /// </summary>
    internal const string UserExpire = """
        local gone = {}
        for i = 2, #KEYS do
          local user = ARGV[i]
          if redis.call('ZSCORE', KEYS[1], user) then
            redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[1])
            local top = redis.call('ZREVRANGE', KEYS[i], 0, 0, 'WITHSCORES')
            if top[2] then
              redis.call('ZADD', KEYS[1], top[2], user)
            else
              redis.call('DEL', KEYS[i])
              redis.call('ZREM', KEYS[1], user)
              table.insert(gone, user)
            end
          end
        end
        return gone
        """;

    /// <summary>
    /// KEYS: one channel's presence set (sets of different channels may live in different slots of a
    /// cluster); ARGV: now, at most how many. Removes the entries due (their node stopped refreshing
    /// them) and returns them: whichever node runs it first gets them.
    /// </summary>
    internal const string MemberExpire = """
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
        if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
        return due
        """;
}
