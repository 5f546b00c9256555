using Comet4Net.Backplane;
using Newtonsoft.Json;
using StackExchange.Redis;

namespace Comet4Net.Redis.Internal;

/// <summary>Sessions on Redis: one key per connection (JSON), expiring with the resume window.</summary>
internal sealed class RedisSessionStore(IDatabase db, RedisKeys keys, RedisCalls calls) : ISessionStore
{
    private RedisKey SessionKey(string id) => keys.Session(id);

    /// <inheritdoc />
    public bool SharesSessions => true;

    /// <inheritdoc />
    /// <remarks>Waits for Redis: the client's next request may land on another node, which must find it.</remarks>
    public void SaveSession(SessionState session, TimeSpan keepFor) =>
        calls.Try(SessionKey(session.Id), () => db.StringSet(SessionKey(session.Id), JsonConvert.SerializeObject(session), keepFor), "save a session");

    /// <inheritdoc />
    public async ValueTask SaveSessionAsync(SessionState session, TimeSpan keepFor)
    {
        if (calls.Skip(SessionKey(session.Id)))
        {
            calls.Failed("save a session", null);
            return;
        }
        try
        {
            await db.StringSetAsync(SessionKey(session.Id), JsonConvert.SerializeObject(session), keepFor).ConfigureAwait(false);
        }
        catch (Exception e) when (calls.Failure(e))
        {
            calls.Failed("save a session", e);
        }
    }

    /// <inheritdoc />
    public void KeepSessions(IEnumerable<string> connectionIds, TimeSpan keepFor) => calls.Try(() =>
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
        if (calls.Skip(SessionKey(connectionId))) throw ReadFailed(null);
        try
        {
            json = db.StringGet(SessionKey(connectionId));
        }
        catch (Exception e) when (calls.Failure(e))
        {
            throw ReadFailed(e);
        }
        return Parse(json);
    }

    /// <inheritdoc />
    public async ValueTask<SessionState?> FindSessionAsync(string connectionId)
    {
        string? json;
        if (calls.Skip(SessionKey(connectionId))) throw ReadFailed(null);
        try
        {
            json = await db.StringGetAsync(SessionKey(connectionId)).ConfigureAwait(false);
        }
        catch (Exception e) when (calls.Failure(e))
        {
            throw ReadFailed(e);
        }
        return Parse(json);
    }

    /// <summary>A read that failed (null: not tried, the node is stopping and Redis is not connected).</summary>
    private CometBackplaneUnavailableException ReadFailed(Exception? e)
    {
        calls.Failed("read a session", e);
        return e is null
            ? new CometBackplaneUnavailableException("Redis is not connected and this node is stopping: the session was not read.")
            : new CometBackplaneUnavailableException("Redis did not answer a session read: " + e.Message, e);
    }

    private static SessionState? Parse(string? json) => json is null ? null : JsonConvert.DeserializeObject<SessionState>(json);

    /// <inheritdoc />
    public bool RemoveSession(string connectionId)
    {
        var removed = false;
        calls.Try(SessionKey(connectionId), () => removed = db.KeyDelete(SessionKey(connectionId)), "remove a session");
        return removed;
    }

    /// <inheritdoc />
    /// <remarks>Sessions expire in Redis by themselves.</remarks>
    public int ExpireSessions() => 0;
}
