using System.Collections.Concurrent;
using Comet4Net.Backplane;
using Comet4Net.Delivery;
using Comet4Net.Redis.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Newtonsoft.Json;
using StackExchange.Redis;

namespace Comet4Net.Redis;

/// <summary>
/// The backplane of several nodes sharing one Redis: the log is a Redis stream whose ids are the
/// sequence numbers (numbered and appended by one script), every node tails it into its own log;
/// sessions are keys that expire with the resume window; presence is a sorted set per channel whose
/// entries expire unless the node holding the connection refreshes them.
/// </summary>
public sealed partial class RedisBackplane : ICometBackplane, IDisposable
{
    private readonly RedisBackplaneOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConnectionMultiplexer _redis;
    private readonly IDatabase _db;
    private readonly string _node = Guid.NewGuid().ToString("N")[..12];
    private readonly ConcurrentDictionary<(string Channel, string Member), byte> _joined = new();
    private readonly ConcurrentDictionary<(string User, string Connection), byte> _users = new(); // this node's, refreshed like presence
    private IBackplaneReceiver? _receiver;
    private readonly RedisSharedLog _log;

    /// <summary>Connects to Redis and reads (or starts) the shared log. Throws if Redis cannot be reached now.</summary>
    public RedisBackplane(RedisBackplaneOptions options, ILogger<RedisBackplane>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Configuration))
            throw new CometConfigurationException("Redis", "Comet:Redis is empty: set it to a StackExchange.Redis configuration string such as 127.0.0.1:6379.");
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        var config = ConfigurationOptions.Parse(options.Configuration);
        config.AbortOnConnectFail = false;
        if (options.DedicatedThreads) ConnectionMultiplexer.SetFeatureFlag("DedicatedThreads", true);
        _redis = ConnectionMultiplexer.Connect(config);
        if (!_redis.IsConnected)
        {
            _redis.Dispose();
            throw new CometConfigurationException("Redis", $"Comet:Redis is '{options.Configuration}', but Redis does not answer there.");
        }
        _db = _redis.GetDatabase();
        _log = new RedisSharedLog(_redis, options, _logger, _time, _node);
    }

    /// <inheritdoc />
    public string Epoch => _log.Epoch;

    /// <inheritdoc />
    public long LastSequence => _log.LastSequence;

    /// <inheritdoc />
    public bool SharesSessions => true;

    /// <summary>True while Redis answers.</summary>
    public bool IsConnected => _redis.IsConnected;

    /// <inheritdoc />
    public void Start(IBackplaneReceiver receiver)
    {
        _log.Start(receiver);
        _receiver = receiver;
        _redis.GetSubscriber().Subscribe(ControlChannel, (_, value) => OnControl(value));
    }

    /// <inheritdoc />
    /// <remarks>
    /// Never waits for Redis: the send is queued behind this node's earlier sends and the task completes
    /// when Redis numbered it. Sends made meanwhile go out together in one script call (group commit).
    /// While Redis is unreachable they wait on this node, in order (at most MaxStreamLength; past it the
    /// oldest complete with number 0 and every client is told of a gap).
    /// </remarks>
    public ValueTask<CometMessage> AppendAsync(OutgoingMessage message) => _log.AppendAsync(message);

    /// <summary>Script calls this node made to append, and the sends they carried (more sends than calls: group commit).</summary>
    internal (long Calls, long Sends) AppendCalls => _log.AppendCalls;

    /// <inheritdoc />
    /// <remarks>
    /// The stream is trimmed by age (CacheExpires, like the nodes' logs) as well as by count
    /// (MaxStreamLength): entries below <paramref name="seq"/> go (XTRIM MINID, once per trim tick).
    /// </remarks>
    public void TrimBefore(long seq) => Try(() => _log.TrimBefore(seq), "trim the stream");

    /// <summary>Messages sent on this node while Redis was unreachable, waiting to go out in order.</summary>
    public int WaitingMessages => _log.Waiting;

    // ------------------------------------------------------------------ sessions

    private RedisKey SessionKey(string id) => _options.Prefix + "session:" + id;

    /// <inheritdoc />
    /// <remarks>Waits for Redis: the client's next request may land on another node, which must find it.</remarks>
    public void SaveSession(SessionState session, TimeSpan keepFor) =>
        Try(() => _db.StringSet(SessionKey(session.Id), JsonConvert.SerializeObject(session), keepFor), "save a session");

    /// <inheritdoc />
    public async ValueTask SaveSessionAsync(SessionState session, TimeSpan keepFor)
    {
        try
        {
            await _db.StringSetAsync(SessionKey(session.Id), JsonConvert.SerializeObject(session), keepFor).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogRedisFailed(_logger, "save a session", e);
        }
    }

    /// <inheritdoc />
    public async ValueTask<SessionState?> FindSessionAsync(string connectionId)
    {
        string? json;
        try
        {
            json = await _db.StringGetAsync(SessionKey(connectionId)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw ReadFailed(e);
        }
        return ParseSession(json);
    }

    private CometBackplaneUnavailableException ReadFailed(Exception e)
    {
        LogRedisFailed(_logger, "read a session", e);
        return new CometBackplaneUnavailableException("Redis did not answer a session read: " + e.Message, e);
    }

    private static SessionState? ParseSession(string? json) => json is null ? null : JsonConvert.DeserializeObject<SessionState>(json);

    /// <inheritdoc />
    public void KeepSessions(IEnumerable<string> connectionIds, TimeSpan keepFor) => Try(() =>
    {
        var batch = _db.CreateBatch();
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
            json = _db.StringGet(SessionKey(connectionId));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw ReadFailed(e);
        }
        return ParseSession(json);
    }

    /// <inheritdoc />
    public bool RemoveSession(string connectionId)
    {
        var removed = false;
        Try(() => removed = _db.KeyDelete(SessionKey(connectionId)), "remove a session");
        return removed;
    }

    /// <inheritdoc />
    public int ExpireSessions()
    {
        // Sessions expire in Redis by themselves; this tick refreshes this node's presence entries instead.
        Try(() =>
        {
            var until = PresenceUntil();
            var batch = _db.CreateBatch();
            foreach (var (channel, member) in _joined.Keys) _ = batch.SortedSetAddAsync(ChannelKey(channel), member, until, flags: CommandFlags.FireAndForget);
            foreach (var (user, connection) in _users.Keys)
            {
                _ = batch.SortedSetAddAsync(UserKeyPrefix + user, connection, until, flags: CommandFlags.FireAndForget);
                _ = batch.SortedSetAddAsync(UsersKey, user, until, SortedSetWhen.GreaterThan, CommandFlags.FireAndForget);
            }
            batch.Execute();
        }, "refresh presence");
        return 0;
    }

    // ------------------------------------------------------------------ presence

    private RedisKey ChannelKey(string channel) => _options.Prefix + "channel:" + channel;

    private string Member(string connectionId, string? userId) => connectionId + "\u001f" + _node + "\u001f" + userId;

    /// <summary>A presence entry (see <see cref="Member"/>): its connection and user.</summary>
    private static (string Connection, string? User) ParseMember(string entry)
    {
        var parts = entry.Split('\u001f');
        return (parts[0], parts.Length > 2 && parts[2].Length > 0 ? parts[2] : null);
    }

    private double PresenceUntil() => NowMs + _options.PresenceTtl.TotalMilliseconds;

    /// <inheritdoc />
    public void Join(string channel, string connectionId, string? userId)
    {
        var member = Member(connectionId, userId);
        _joined[(channel, member)] = 0;
        Try(() => _db.SortedSetAdd(ChannelKey(channel), member, PresenceUntil(), flags: CommandFlags.FireAndForget), "join a channel");
    }

    /// <inheritdoc />
    public bool Leave(string channel, string connectionId, string? userId)
    {
        var member = Member(connectionId, userId);
        if (!_joined.TryRemove((channel, member), out _)) return false;
        Try(() => _db.SortedSetRemove(ChannelKey(channel), member, CommandFlags.FireAndForget), "leave a channel");
        return true;
    }

    /// <inheritdoc />
    public IReadOnlyList<ChannelMember>? Members(string channel, bool includeEveryChannel)
    {
        var members = new Dictionary<string, ChannelMember>(StringComparer.Ordinal);
        foreach (var (connection, user) in Entries(channel, includeEveryChannel, "list a channel")) members[connection] = new ChannelMember(connection, user);
        return members.Values.ToArray();
    }

    /// <inheritdoc />
    public ChannelCount Count(string channel, bool includeEveryChannel)
    {
        var connections = new HashSet<string>(StringComparer.Ordinal);
        var users = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (connection, user) in Entries(channel, includeEveryChannel, "count a channel"))
        {
            connections.Add(connection);
            if (user is not null) users.Add(user);
        }
        return new ChannelCount(connections.Count, users.Count);
    }

    /// <inheritdoc />
    public IReadOnlyList<(string Channel, ChannelMember Member)> ExpireMembers(IReadOnlyList<string> channels)
    {
        if (channels.Count == 0) return [];
        var gone = new List<(string, ChannelMember)>();
        Try(() =>
        {
            var keys = channels.Select(c => ChannelKey(c)).ToArray();
            var due = (RedisResult[])_db.ScriptEvaluate(RedisScripts.MemberExpire, keys, [NowMs, 1000])!;
            for (var i = 0; i < due.Length && i < channels.Count; i++)
            {
                var entries = (RedisResult[])due[i]!;
                if (entries.Length == 0) continue;
                // A connection another node took over has a live entry of its own there: it did not leave.
                var live = Entries(channels[i], false, "list a channel").Select(e => e.Connection).ToHashSet(StringComparer.Ordinal);
                foreach (var entry in entries)
                {
                    var (connection, user) = ParseMember((string)entry!);
                    if (live.Add(connection)) gone.Add((channels[i], new ChannelMember(connection, user))); // Add: each connection once
                }
            }
        }, "expire channel entries");
        return gone;
    }

    /// <summary>The live presence entries of a channel (and of "every channel"): connection and user, as the members store them.</summary>
    private List<(string Connection, string? User)> Entries(string channel, bool includeEveryChannel, string what)
    {
        var entries = new List<(string, string?)>();
        var now = NowMs;
        foreach (var key in includeEveryChannel ? [channel, Channels.ChannelCounts.EveryChannel] : new[] { channel })
        {
            Try(() =>
            {
                foreach (var entry in _db.SortedSetRangeByScore(ChannelKey(key), now, double.PositiveInfinity))
                {
                    entries.Add(ParseMember((string)entry!));
                }
            }, what);
        }
        return entries;
    }

    // ------------------------------------------------------------------ users, kicks

    private RedisKey UsersKey => _options.Prefix + "users";

    private string UserKeyPrefix => _options.Prefix + "user:";

    private RedisChannel ControlChannel => RedisChannel.Literal(_options.Prefix + "control");

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <inheritdoc />
    public bool TracksUsers => true;

    /// <inheritdoc />
    /// <remarks>While Redis does not answer, the user is taken as online already (no event): a missed online beats a second one.</remarks>
    public bool UserJoined(string userId, string connectionId, bool handedOver)
    {
        _users[(userId, connectionId)] = 0;
        var first = false;
        Try(() => first = (long)_db.ScriptEvaluate(RedisScripts.UserJoin, [UsersKey, UserKeyPrefix + userId],
            [userId, connectionId, PresenceUntil(), NowMs]) == 1, "record a user's connection");
        return first && !handedOver;
    }

    /// <inheritdoc />
    public bool UserLeft(string userId, string connectionId, bool handedOver)
    {
        if (!_users.TryRemove((userId, connectionId), out _) || handedOver) return false;
        var last = false;
        Try(() => last = (long)_db.ScriptEvaluate(RedisScripts.UserLeave, [UsersKey, UserKeyPrefix + userId], [userId, connectionId, NowMs]) == 1,
            "remove a user's connection");
        return last;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> ExpireUsers()
    {
        IReadOnlyList<string> gone = [];
        Try(() => gone = ((RedisResult[])_db.ScriptEvaluate(RedisScripts.UserExpire, [UsersKey], [NowMs, UserKeyPrefix, 1000])!)
            .Select(r => (string)r!).ToArray(), "expire users");
        return gone;
    }

    /// <inheritdoc />
    public IReadOnlyCollection<string> Users()
    {
        IReadOnlyCollection<string> users = [];
        Try(() => users = _db.SortedSetRangeByScore(UsersKey, NowMs, double.PositiveInfinity).Select(v => (string)v!).ToArray(), "list users");
        return users;
    }

    /// <inheritdoc />
    public void RequestKick(string? connectionId, string? userId, string? reason) =>
        Publish(new ControlMessage(_node, connectionId, userId, reason, Gone: false), "ask the other nodes to kick");

    /// <inheritdoc />
    public void AnnounceGone(string connectionId) => Publish(new ControlMessage(_node, connectionId, null, null, Gone: true), "announce a connection gone");

    private void Publish(ControlMessage message, string what) =>
        Try(() => _redis.GetSubscriber().Publish(ControlChannel, JsonConvert.SerializeObject(message), CommandFlags.FireAndForget), what);

    /// <summary>A kick request (<see cref="RequestKick"/>) or a connection ended for good (<see cref="AnnounceGone"/>).</summary>
    private sealed record ControlMessage(string Node, string? Cid, string? User, string? Reason, bool Gone);

    private void OnControl(RedisValue value)
    {
        ControlMessage? message;
        try
        {
            message = JsonConvert.DeserializeObject<ControlMessage>((string)value!);
        }
        catch (JsonException)
        {
            return; // not ours: another writer on the channel
        }
        if (message is null || message.Node == _node || _receiver is not { } receiver) return;
        if (message.Gone ? message.Cid is null : message.Cid is null && message.User is null) return;
        // Off the Redis reader: kicks run the application's drop listeners (whose failures are logged here, not thrown on the pool).
        ThreadPool.UnsafeQueueUserWorkItem(static s =>
        {
            try
            {
                if (s.Message.Gone) s.Receiver.Forget(s.Message.Cid!);
                else s.Receiver.Kick(s.Message.Cid, s.Message.User, s.Message.Reason);
            }
            catch (Exception e)
            {
                LogControlFailed(s.Logger, e);
            }
        }, (Receiver: receiver, Message: message, Logger: _logger), preferLocal: false);
    }

    private void Try(Action action, string what)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogRedisFailed(_logger, what, e);
        }
    }

    [LoggerMessage(EventId = 304, Level = LogLevel.Error, Message = "Comet4Net could not carry out another node's kick or drop on this node")]
    private static partial void LogControlFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Comet4Net could not {What} in Redis; it goes on with what this node holds")]
    private static partial void LogRedisFailed(ILogger logger, string what, Exception exception);

    /// <inheritdoc />
    public void Dispose()
    {
        _log.Dispose();
        _redis.Dispose();
    }
}
