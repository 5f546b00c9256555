using Comet4Net.Backplane;
using Microsoft.Extensions.Logging;
using Newtonsoft.Json;
using StackExchange.Redis;

namespace Comet4Net.Redis.Internal;

/// <summary>Sessions on Redis: one key per connection (JSON), expiring with the resume window.</summary>
internal sealed class RedisSessionStore(IDatabase db, RedisBackplaneOptions options, ILogger logger) : ISessionStore
{
    private RedisKey SessionKey(string id) => options.Prefix + "session:" + id;

    /// <inheritdoc />
    public bool SharesSessions => true;

    /// <inheritdoc />
    /// <remarks>Waits for Redis: the client's next request may land on another node, which must find it.</remarks>
    public void SaveSession(SessionState session, TimeSpan keepFor) =>
        RedisCalls.Try(logger, () => db.StringSet(SessionKey(session.Id), JsonConvert.SerializeObject(session), keepFor), "save a session");

    /// <inheritdoc />
    public async ValueTask SaveSessionAsync(SessionState session, TimeSpan keepFor)
    {
        try
        {
            await db.StringSetAsync(SessionKey(session.Id), JsonConvert.SerializeObject(session), keepFor).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            RedisCalls.LogRedisFailed(logger, "save a session", e);
        }
    }

    /// <inheritdoc />
    public void KeepSessions(IEnumerable<string> connectionIds, TimeSpan keepFor) => RedisCalls.Try(logger, () =>
    {
        var batch = db.CreateBatch();
        foreach (var id in connectionIds) _ = batch.KeyExpireAsync(SessionKey(id), keepFor, flags: CommandFlags.FireAndForget);
        batch.Execute();
    }, "keep sessions");

    /// <inheritdoc />
    /// <remarks>Throws <see cref="CometBackplaneUnavailableException"/> when Redis does not answer: "unknown" is not "gone".</remarks>
    public SessionState? FindSession(string connectionId)
    {
        string? json;
        try
        {
            json = db.StringGet(SessionKey(connectionId));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw ReadFailed(e);
        }
        return Parse(json);
    }

    /// <inheritdoc />
    public async ValueTask<SessionState?> FindSessionAsync(string connectionId)
    {
        string? json;
        try
        {
            json = await db.StringGetAsync(SessionKey(connectionId)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw ReadFailed(e);
        }
        return Parse(json);
    }

    private CometBackplaneUnavailableException ReadFailed(Exception e)
    {
        RedisCalls.LogRedisFailed(logger, "read a session", e);
        return new CometBackplaneUnavailableException("Redis did not answer a session read: " + e.Message, e);
    }

    private static SessionState? Parse(string? json) => json is null ? null : JsonConvert.DeserializeObject<SessionState>(json);

    /// <inheritdoc />
    public bool RemoveSession(string connectionId)
    {
        var removed = false;
        RedisCalls.Try(logger, () => removed = db.KeyDelete(SessionKey(connectionId)), "remove a session");
        return removed;
    }

    /// <inheritdoc />
    /// <remarks>Sessions expire in Redis by themselves.</remarks>
    public int ExpireSessions() => 0;
}
