using System.Collections.Concurrent;
using Comet4Net.Backplane;
using StackExchange.Redis;

namespace Comet4Net.Redis.Internal;

/// <summary>
/// Presence and users on Redis: a sorted set per channel and per user, whose entries expire
/// (PresenceTtl) unless the node holding the connection refreshes them (<see cref="KeepEntries"/>), so a
/// crashed node's connections leave by themselves; a sorted set of online users, swept once per cluster.
/// </summary>
internal sealed class RedisPresence(IDatabase db, RedisBackplaneOptions options, RedisKeys keys, RedisCalls calls, TimeProvider time, string node) : IPresenceStore
{
    private readonly ConcurrentDictionary<(string Channel, string Member), byte> _joined = new();
    private readonly ConcurrentDictionary<(string User, string Connection), byte> _users = new(); // this node's, refreshed like presence

    private RedisKey ChannelKey(string channel) => keys.Channel(channel);

    private RedisKey UsersKey => keys.Users;

    private long NowMs => time.GetUtcNow().ToUnixTimeMilliseconds();

    private double PresenceUntil() => NowMs + options.PresenceTtl.TotalMilliseconds;

    private string Member(string connectionId, string? userId) => connectionId + "\u001f" + node + "\u001f" + userId;

    /// <summary>A presence entry (see <see cref="Member"/>): its connection and user.</summary>
    private static (string Connection, string? User) ParseMember(string entry)
    {
        var parts = entry.Split('\u001f');
        return (parts[0], parts.Length > 2 && parts[2].Length > 0 ? parts[2] : null);
    }

    private void Try(RedisKey key, Action action, string what) => calls.Try(key, action, what);

    /// <inheritdoc />
    public void Join(string channel, string connectionId, string? userId)
    {
        var member = Member(connectionId, userId);
        _joined[(channel, member)] = 0;
        Try(ChannelKey(channel), () => db.SortedSetAdd(ChannelKey(channel), member, PresenceUntil(), flags: CommandFlags.FireAndForget), "join a channel");
    }

    /// <inheritdoc />
    public bool Leave(string channel, string connectionId, string? userId)
    {
        var member = Member(connectionId, userId);
        if (!_joined.TryRemove((channel, member), out _)) return false;
        Try(ChannelKey(channel), () => db.SortedSetRemove(ChannelKey(channel), member, CommandFlags.FireAndForget), "leave a channel");
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
    public void KeepEntries() => calls.Try(() =>
    {
        var until = PresenceUntil();
        var batch = db.CreateBatch();
        foreach (var (channel, member) in _joined.Keys) _ = batch.SortedSetAddAsync(ChannelKey(channel), member, until, flags: CommandFlags.FireAndForget);
        foreach (var (user, connection) in _users.Keys)
        {
            _ = batch.SortedSetAddAsync(keys.User(user), connection, until, flags: CommandFlags.FireAndForget);
            _ = batch.SortedSetAddAsync(UsersKey, user, until, SortedSetWhen.GreaterThan, CommandFlags.FireAndForget);
        }
        batch.Execute();
    }, "refresh presence");

    /// <inheritdoc />
    /// <remarks>One script call per channel: on a Redis Cluster the channels' sets live in different slots.</remarks>
    public IReadOnlyList<(string Channel, ChannelMember Member)> ExpireMembers(IReadOnlyList<string> channels)
    {
        if (channels.Count == 0) return [];
        var gone = new List<(string, ChannelMember)>();
        calls.Try(() =>
        {
            var now = NowMs;
            for (var i = 0; i < channels.Count; i++)
            {
                var entries = (RedisResult[])db.ScriptEvaluate(RedisScripts.MemberExpire, [ChannelKey(channels[i])], [now, 1000])!;
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
            Try(ChannelKey(key), () =>
            {
                foreach (var entry in db.SortedSetRangeByScore(ChannelKey(key), now, double.PositiveInfinity))
                {
                    entries.Add(ParseMember((string)entry!));
                }
            }, what);
        }
        return entries;
    }

    /// <inheritdoc />
    public bool TracksUsers => true;

    /// <inheritdoc />
    /// <remarks>While Redis does not answer, the user is taken as online already (no event): a missed online beats a second one.</remarks>
    public bool UserJoined(string userId, string connectionId, bool handedOver)
    {
        _users[(userId, connectionId)] = 0;
        var first = false;
        Try(UsersKey, () => first = (long)db.ScriptEvaluate(RedisScripts.UserJoin, [UsersKey, keys.User(userId)],
            [userId, connectionId, PresenceUntil(), NowMs]) == 1, "record a user's connection");
        return first && !handedOver;
    }

    /// <inheritdoc />
    public bool UserLeft(string userId, string connectionId, bool handedOver)
    {
        if (!_users.TryRemove((userId, connectionId), out _) || handedOver) return false;
        var last = false;
        Try(UsersKey, () => last = (long)db.ScriptEvaluate(RedisScripts.UserLeave, [UsersKey, keys.User(userId)], [userId, connectionId, NowMs]) == 1,
            "remove a user's connection");
        return last;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> ExpireUsers()
    {
        IReadOnlyList<string> gone = [];
        Try(UsersKey, () =>
        {
            var now = NowMs;
            var due = db.SortedSetRangeByScore(UsersKey, double.NegativeInfinity, now, take: 1000);
            if (due.Length == 0) return;
            var sets = new RedisKey[1 + due.Length];
            var args = new RedisValue[1 + due.Length];
            sets[0] = UsersKey;
            args[0] = now;
            for (var i = 0; i < due.Length; i++)
            {
                sets[1 + i] = keys.User((string)due[i]!);
                args[1 + i] = due[i];
            }
            gone = ((RedisResult[])db.ScriptEvaluate(RedisScripts.UserExpire, sets, args)!).Select(r => (string)r!).ToArray();
        }, "expire users");
        return gone;
    }

    /// <inheritdoc />
    public IReadOnlyCollection<string> Users()
    {
        IReadOnlyCollection<string> users = [];
        Try(UsersKey, () => users = db.SortedSetRangeByScore(UsersKey, NowMs, double.PositiveInfinity).Select(v => (string)v!).ToArray(), "list users");
        return users;
    }
}
