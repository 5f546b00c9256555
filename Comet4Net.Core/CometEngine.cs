using System.Collections.Concurrent;
using System.Security.Cryptography;
using Comet4Net.Delivery;
using Comet4Net.Events;
using Comet4Net.Listeners;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Comet4Net;

/// <summary>
/// The engine: holds the connections, sends messages (<see cref="SendTo(string, CometConnection, object?)"/>,
/// <see cref="SendToAll"/>) and raises the connection events. Get it from
/// <see cref="CometContext.Engine"/> (or <c>CometContext.Instance.Engine</c> in code ported from Comet4J).
/// </summary>
/// <remarks>
/// Every message is stored once with a sequence number. A broadcast is one entry in a shared,
/// bounded log and does not touch the connections; a message for one connection goes to that
/// connection's small queue. Writers wake on a signal and take everything after their cursor.
/// </remarks>
public sealed class CometEngine
{
    private readonly ConcurrentDictionary<string, CometConnection> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _perClient = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, object> _hubs = new();
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, CometConnection>> _users = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string Reason, long Until)> _kicked = new(StringComparer.Ordinal);
    private readonly object _userSync = new();
    private readonly Dictionary<string, Queue<CometMessage>> _history = new(StringComparer.Ordinal); // under Log.SendLock
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, CometConnection>> _subscribers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CometConnection> _allChannels = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private int _count;

    internal CometEngine(CometContext context, TimeProvider time, ILogger? logger)
    {
        Context = context;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
        Metrics = new CometMetrics(this);
    }

    /// <summary>The engine's <c>Comet4Net</c> meter.</summary>
    public CometMetrics Metrics { get; }

    /// <summary>The context that owns the engine.</summary>
    public CometContext Context { get; }

    internal CometOptions Options => Context.Options;

    internal MessageLog Log { get; } = new();

    /// <summary>Pulsed on every broadcast: wakes every waiting writer at once.</summary>
    internal AsyncSignal BroadcastSignal { get; } = new();

    /// <summary>Pulsed every half heartbeat interval by the scheduler.</summary>
    internal AsyncSignal HeartbeatSignal { get; } = new();

    internal TimeProvider Time => _time;

    internal ILogger Logger => _logger;

    /// <summary>Counters of what the engine did; <see cref="GetStatistics"/> reads them.</summary>
    internal EngineCounters Counters { get; } = new();

    /// <summary>The connections held now (a snapshot).</summary>
    public IReadOnlyCollection<CometConnection> Connections => _connections.Values.ToArray();

    /// <summary>How many connections the engine holds.</summary>
    public int ConnectionCount => Volatile.Read(ref _count);

    /// <summary>The connection with this id, or null. O(1).</summary>
    public CometConnection? GetConnection(string? id) =>
        id is not null && _connections.TryGetValue(id, out var c) ? c : null;

    /// <summary>The current time in milliseconds since 1970, as frames carry it.</summary>
    internal long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    internal long Timestamp => _time.GetTimestamp();

    internal TimeSpan Elapsed(long since) => _time.GetElapsedTime(since);

    // ------------------------------------------------------------------ sending

    /// <summary>
    /// Sends <paramref name="data"/> on <paramref name="channel"/> to every connection, present and
    /// dying. Returns the message's sequence number, or 0 if a message listener cancelled it.
    /// Never waits for a client.
    /// </summary>
    public long SendToAll(string channel, object? data) => SendToAll(channel, null, data);

    /// <summary>
    /// Sends an event within a channel to every connection (CppComet's <c>channel.event</c>): pages
    /// listen with <c>JS.Engine.on('chat.typing', fn)</c>. Returns the sequence number, or 0 if cancelled.
    /// </summary>
    public long SendToAll(string channel, string? eventName, object? data)
    {
        CheckChannel(channel);
        if (eventName is not null) CheckChannel(eventName);
        var json = Serialize(data);
        if (!Fire(new MessageEvent(this, null, channel, data))) return 0;
        return Broadcast(channel, eventName, json, null).Seq;
    }

    internal CometMessage Broadcast(string channel, string? eventName, string json, string? from)
    {
        CometMessage message;
        var options = Context.GetChannelOptions(channel);
        lock (Log.SendLock)
        {
            var seq = Log.NextSeq();
            message = new CometMessage(seq, channel, json, NowMs, null, eventName, from);
            Log.Append(message);
            if (options is { HistoryCount: > 0 } && (eventName is null || options.HistoryIncludesEvents)) AddHistory(channel, message, options.HistoryCount);
            if (Log.Count > Options.MaxLogMessages || Log.Bytes > Options.MaxLogBytes)
                Counters.AddLogTrimmed(Log.Trim(long.MinValue, Options.MaxLogMessages, Options.MaxLogBytes));
            Log.Publish(seq);
        }
        Counters.AddSent(1);
        BroadcastSignal.Pulse();
        return message;
    }

    private void AddHistory(string channel, CometMessage message, int max)
    {
        if (!_history.TryGetValue(channel, out var queue)) _history[channel] = queue = new Queue<CometMessage>();
        queue.Enqueue(message);
        while (queue.Count > max) queue.Dequeue();
    }

    /// <summary>The last messages kept as a channel's history (oldest first), at most <paramref name="max"/>.</summary>
    public IReadOnlyList<CometMessage> GetHistory(string channel, int max = int.MaxValue)
    {
        lock (Log.SendLock) return HistoryLocked(channel, max, long.MaxValue);
    }

    private List<CometMessage> HistoryLocked(string channel, int max, long upToSeq)
    {
        if (max <= 0 || !_history.TryGetValue(channel, out var queue)) return [];
        var age = Context.GetChannelOptions(channel)?.HistoryAge;
        var oldest = age is { } a ? NowMs - (long)a.TotalMilliseconds : long.MinValue;
        var kept = queue.Where(m => m.Time >= oldest && m.Seq <= upToSeq).ToList();
        return kept.Count > max ? kept.GetRange(kept.Count - max, max) : kept;
    }

    /// <summary>Forgets a channel's history. Returns how many messages it held.</summary>
    public int ClearHistory(string channel)
    {
        lock (Log.SendLock)
        {
            if (!_history.Remove(channel, out var queue)) return 0;
            return queue.Count;
        }
    }

    // ------------------------------------------------------------------ subscriptions and presence

    /// <summary>
    /// Makes a v2 connection listen on <paramref name="channel"/>, from now on. Returns up to
    /// <paramref name="history"/> messages of the channel's history that came before, oldest first:
    /// with the live messages after them there is no gap and no duplicate. Returns null if a
    /// subscribe listener refused.
    /// </summary>
    public IReadOnlyList<CometMessage>? Subscribe(CometConnection connection, string channel, int history = 0)
    {
        ArgumentNullException.ThrowIfNull(connection);
        CheckChannel(channel);
        if (!Fire(new SubscribeEvent(this, connection, channel))) return null;
        List<CometMessage> past;
        bool added;
        lock (Log.SendLock)
        {
            var subscriptions = connection.Subscriptions ??= new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
            _allChannels.TryRemove(connection.Id, out _);
            var start = Log.LastSeq;
            added = subscriptions.TryAdd(channel, start);
            past = HistoryLocked(channel, history, subscriptions[channel]);
        }
        if (added && connection.Registered)
        {
            _subscribers.GetOrAdd(channel, static _ => new(StringComparer.Ordinal))[connection.Id] = connection;
            Presence(connection, channel, "join");
        }
        return past;
    }

    /// <summary>Stops a connection listening on a channel. Returns false if it was not.</summary>
    public bool Unsubscribe(CometConnection connection, string channel)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection.Subscriptions is not { } subscriptions || !subscriptions.TryRemove(channel, out _)) return false;
        if (_subscribers.TryGetValue(channel, out var set)) set.TryRemove(connection.Id, out _);
        Fire(new UnsubscribeEvent(this, connection, channel));
        Presence(connection, channel, "leave");
        return true;
    }

    /// <summary>How many connections, and how many distinct users among them, receive a channel now.</summary>
    public (int Connections, int Users) GetChannelCounts(string channel)
    {
        var users = new HashSet<string>(StringComparer.Ordinal);
        var connections = 0;
        if (_subscribers.TryGetValue(channel, out var set))
        {
            foreach (var c in set.Values) { connections++; if (c.UserId is { } u) users.Add(u); }
        }
        foreach (var c in _allChannels.Values) { connections++; if (c.UserId is { } u) users.Add(u); }
        return (connections, users.Count);
    }

    private void Presence(CometConnection connection, string channel, string what)
    {
        if (Context.GetChannelOptions(channel) is not { Presence: true }) return;
        var (connections, users) = GetChannelCounts(channel);
        Broadcast(channel, what, JsonConvert.SerializeObject(new Dictionary<string, object?>
        {
            ["user"] = connection.UserId,
            ["cId"] = connection.Id,
            ["connections"] = connections,
            ["users"] = users,
        }), null);
    }

    /// <summary>The outcome of a client's publish.</summary>
    internal readonly record struct PublishResult(int Status, string? Error, string? Message, long Seq, int Delivered);

    /// <summary>A client's message: allowed only on channels registered with AllowPublish, stamped with its sender.</summary>
    internal PublishResult Publish(CometConnection connection, string channel, string? eventName, JToken? data)
    {
        if (Context.GetChannelOptions(channel) is not { AllowPublish: true })
            return new PublishResult(403, "forbidden", Text($"Clients may not publish on '{channel}'.", $"客户端不能在通道 '{channel}' 上发送。"), 0, 0);
        var before = new BeforePublishEvent(this, connection, channel, eventName, data);
        if (!Fire(before) || before.Refused)
            return new PublishResult(403, "refused", before.Reason ?? Text("The application refused the message.", "应用拒绝了该消息。"), 0, 0);
        string json;
        try
        {
            json = Serialize(before.Data);
        }
        catch (ArgumentException e)
        {
            return new PublishResult(413, "too-large", e.Message, 0, 0);
        }
        if (!Fire(new MessageEvent(this, null, channel, before.Data)))
            return new PublishResult(403, "refused", Text("The application refused the message.", "应用拒绝了该消息。"), 0, 0);
        var delivered = GetChannelCounts(channel).Connections;
        var message = Broadcast(channel, eventName, json, connection.UserId ?? connection.Id);
        return new PublishResult(200, null, null, message.Seq, delivered);
    }

    /// <summary>Sends to one connection. Returns false if it is gone or a message listener cancelled the send.</summary>
    public bool SendTo(string channel, CometConnection connection, object? data)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return SendTo(channel, [connection], data) == 1;
    }

    /// <summary>Sends to the connection with this id. Returns false if there is none.</summary>
    public bool SendTo(string channel, string connectionId, object? data)
    {
        var connection = GetConnection(connectionId);
        return connection is not null && SendTo(channel, connection, data);
    }

    /// <summary>
    /// Sends one message to several connections: stored once, queued for each. Returns how many
    /// connections it was queued for.
    /// </summary>
    public int SendTo(string channel, IEnumerable<CometConnection> connections, object? data)
    {
        ArgumentNullException.ThrowIfNull(connections);
        CheckChannel(channel);
        var json = Serialize(data);
        var targets = new List<CometConnection>();
        foreach (var c in connections)
        {
            if (c is null || c.State == ConnectionState.Dropped || !ReferenceEquals(c.Engine, this)) continue;
            if (!Fire(new MessageEvent(this, c, channel, data))) continue;
            targets.Add(c);
        }
        if (targets.Count == 0) return 0;
        List<(CometConnection Connection, int Dropped)>? overflows = null;
        lock (Log.SendLock)
        {
            var seq = Log.NextSeq();
            var message = new CometMessage(seq, channel, json, NowMs, targets.Count == 1 ? targets[0].Id : null);
            foreach (var c in targets)
            {
                var dropped = c.Pending.Add(message, Options.MaxPendingMessages, Options.MaxPendingBytes);
                if (dropped > 0) (overflows ??= new()).Add((c, dropped));
            }
            Log.Publish(seq);
        }
        Counters.AddSent(1);
        foreach (var c in targets) c.WakePrivate();
        if (overflows is not null) Overflow(overflows);
        return targets.Count;
    }

    private void Overflow(List<(CometConnection Connection, int Dropped)> overflows)
    {
        var drop = Options.OverflowPolicy == "drop";
        foreach (var (connection, dropped) in overflows)
        {
            Counters.AddPendingDropped(dropped);
            Counters.AddLimitHit();
            if (drop) Remove(connection, DropReason.Overflow, Text("too many messages waiting", "待发送消息过多"));
            Fire(new OverflowEvent(this, connection, dropped, drop));
        }
    }

    /// <summary>
    /// Ends a connection from the server side. Before-drop listeners may veto (returns false);
    /// otherwise the drop and removed events fire and its request, if any, ends.
    /// </summary>
    public bool Drop(CometConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return Drop(connection, DropReason.Server);
    }

    internal bool Drop(CometConnection connection, DropReason reason, string? message = null)
    {
        if (connection.State == ConnectionState.Dropped) return false;
        if (!Fire(new BeforeDropEvent(this, connection, reason))) return false;
        Remove(connection, reason, message);
        return true;
    }

    /// <summary>
    /// Ends a connection with a reason the page sees in its <c>stop</c> event; a v2 client does not
    /// reconnect by itself. Before-drop listeners may veto. Returns false if vetoed or already gone.
    /// </summary>
    public bool Kick(CometConnection connection, string? reason = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return Drop(connection, DropReason.Server, reason ?? Text("kicked by the server", "被服务器断开"));
    }

    /// <summary>Kicks every connection of a user. Returns how many were ended.</summary>
    public int Kick(string userId, string? reason = null) => GetConnections(userId).Count(c => Kick(c, reason));

    /// <summary>The reason a recently kicked connection was given, or null.</summary>
    internal string? KickedReason(string id) => _kicked.TryGetValue(id, out var k) ? k.Reason : null;

    // ------------------------------------------------------------------ users

    /// <summary>How many users have at least one connection.</summary>
    public int UserCount => _users.Count;

    /// <summary>The users with at least one connection (a snapshot).</summary>
    public IReadOnlyCollection<string> Users => _users.Keys.ToArray();

    /// <summary>The connections of a user (a snapshot; empty if none).</summary>
    public IReadOnlyList<CometConnection> GetConnections(string userId) =>
        userId is not null && _users.TryGetValue(userId, out var set) ? set.Values.ToArray() : [];

    /// <summary>Sends to every connection of a user; the message is stored once. Returns how many connections it was queued for.</summary>
    public int SendToUser(string userId, string channel, object? data)
    {
        ArgumentNullException.ThrowIfNull(userId);
        var connections = GetConnections(userId);
        return connections.Count == 0 ? 0 : SendTo(channel, connections, data);
    }

    internal void Reindex(CometConnection connection, string? oldUser, string? newUser)
    {
        var wentOffline = false;
        var cameOnline = false;
        lock (_userSync)
        {
            if (oldUser is not null && _users.TryGetValue(oldUser, out var oldSet))
            {
                if (oldSet.TryRemove(connection.Id, out _) && oldSet.IsEmpty)
                {
                    _users.TryRemove(oldUser, out _);
                    wentOffline = true;
                }
            }
            if (newUser is not null && connection.State != ConnectionState.Dropped)
            {
                var set = _users.GetOrAdd(newUser, static _ => new ConcurrentDictionary<string, CometConnection>(StringComparer.Ordinal));
                cameOnline = set.IsEmpty;
                set[connection.Id] = connection;
            }
        }
        if (wentOffline) Fire(new UserOfflineEvent(this, connection, oldUser!));
        if (cameOnline) Fire(new UserOnlineEvent(this, connection, newUser!));
    }

    // ------------------------------------------------------------------ serialising

    internal string Serialize(object? data)
    {
        var json = data switch
        {
            null => "null",
            string s => JsonConvert.ToString(s),
            JToken t => t.ToString(Formatting.None),
            _ => JsonConvert.SerializeObject(data, Options.SerializerSettings),
        };
        if (json.Length > Options.MaxMessageBytes)
        {
            Counters.AddLimitHit();
            throw new ArgumentException(
                $"The message is {json.Length} characters of JSON, more than Comet:MaxMessageBytes ({Options.MaxMessageBytes}).", nameof(data));
        }
        return json;
    }

    internal static void CheckChannel(string channel)
    {
        if (!CometContext.IsValidChannelName(channel))
            throw new ArgumentException(
                $"'{channel}' is not a valid channel name: use 1 to 64 characters from A-Z a-z 0-9 _ . -", nameof(channel));
    }

    // ------------------------------------------------------------------ connections (used by transports)

    /// <summary>The outcome of a <c>conn</c> request.</summary>
    internal readonly record struct ConnectResult(CometConnection? Connection, int Status, string? Error, string? Message, int RetryAfterSeconds);

    internal ConnectResult Connect(ICometRequest request, CometDialect dialect, string workStyle, string clientVersion, long? resumeAfter = null,
        IReadOnlyCollection<string>? subscribe = null)
    {
        var count = Interlocked.Increment(ref _count);
        if (count > Options.MaxConnections)
        {
            Interlocked.Decrement(ref _count);
            Counters.AddLimitHit();
            return new ConnectResult(null, 429, "too-many-connections",
                Text($"The server holds its maximum of {Options.MaxConnections} connections.", $"服务器连接数已达上限（{Options.MaxConnections}）。"), 5);
        }
        var ip = request.ClientIp;
        var perClientLimit = Options.MaxConnectionsPerClient;
        var perClient = _perClient.AddOrUpdate(ip, 1, static (_, n) => n + 1);
        if (perClientLimit > 0 && perClient > perClientLimit)
        {
            ReleaseSlot(ip);
            Counters.AddLimitHit();
            return new ConnectResult(null, 429, "too-many-connections",
                Text($"This client already has {perClientLimit} connections, the most allowed (Comet:MaxConnectionsPerClient).",
                    $"该客户端连接数已达上限（{perClientLimit}）。"), 5);
        }

        string? userId = null;
        if (Context.Tokens is { } tokens)
        {
            var token = request.Query("token");
            if (token is not null)
            {
                if (!tokens.TryValidate(token, out var user, out var why))
                {
                    ReleaseSlot(ip);
                    return new ConnectResult(null, 401, "invalid-token", why, 0);
                }
                userId = user;
            }
            else if (Options.RequireToken)
            {
                ReleaseSlot(ip);
                return new ConnectResult(null, 401, "invalid-token", Text("A token is required: pass token=… (issued by the application) to JS.Engine.start.", "需要令牌（token）。"), 0);
            }
        }

        CometConnection connection;
        lock (Log.SendLock)
        {
            var last = Log.LastSeq;
            var start = resumeAfter is { } r && r >= 0 && r < last ? r : last;
            var position = start == last ? Log.Published : Log.PositionAfter(start);
            connection = new CometConnection(this, NewId(), NewId(), dialect, workStyle, clientVersion, request, start, position, Timestamp)
            {
                UserId = userId,
            };
            if (subscribe is not null)
            {
                connection.Subscriptions = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
                foreach (var channel in subscribe) connection.Subscriptions[channel] = start;
            }
        }

        var before = new BeforeConnectEvent(this, connection, request);
        if (!Fire(before) || before.Refused)
        {
            ReleaseSlot(ip);
            var status = before.Refused ? before.Status : 403;
            return new ConnectResult(null, status, "refused",
                before.Reason ?? Text("The application refused the connection.", "应用拒绝了连接。"), 0);
        }
        _connections[connection.Id] = connection;
        connection.Registered = true;
        if (connection.Subscriptions is { } subscribed)
        {
            foreach (var channel in subscribed.Keys)
                _subscribers.GetOrAdd(channel, static _ => new(StringComparer.Ordinal))[connection.Id] = connection;
        }
        else
        {
            _allChannels[connection.Id] = connection;
        }
        if (connection.UserId is { } owner) Reindex(connection, null, owner);
        Counters.AddConnect();
        if (Options.Debug) _logger.LogInformation("Comet connection {Id} opened from {Ip} ({Dialect}, {WorkStyle})", connection.Id, ip, dialect, workStyle);
        Fire(new ConnectEvent(this, connection));
        if (connection.Subscriptions is { } initial)
        {
            foreach (var channel in initial.Keys)
            {
                Fire(new SubscribeEvent(this, connection, channel));
                Presence(connection, channel, "join");
            }
        }
        return new ConnectResult(connection, 200, null, null, 0);
    }

    private void ReleaseSlot(string ip)
    {
        Interlocked.Decrement(ref _count);
        while (_perClient.TryGetValue(ip, out var n))
        {
            if (n <= 1 ? _perClient.TryRemove(new KeyValuePair<string, int>(ip, n)) : _perClient.TryUpdate(ip, n - 1, n)) break;
        }
    }

    private void Remove(CometConnection connection, DropReason reason, string? message = null)
    {
        if (!connection.MarkDropped(reason, message)) return;
        if (_connections.TryRemove(new KeyValuePair<string, CometConnection>(connection.Id, connection)))
        {
            ReleaseSlot(connection.ClientIp);
        }
        if (reason is DropReason.Server or DropReason.Overflow)
        {
            // Remember for a while, so that a client coming back is told it was ended, not invited to reconnect.
            _kicked[connection.Id] = (message ?? reason.ToString(), Timestamp + _time.TimestampFrequency * 120);
        }
        Counters.AddDrop();
        if (Options.Debug) _logger.LogInformation("Comet connection {Id} removed ({Reason})", connection.Id, reason);
        Fire(new DropEvent(this, connection, reason));
        _allChannels.TryRemove(connection.Id, out _);
        if (connection.Subscriptions is { } subscribed)
        {
            foreach (var channel in subscribed.Keys)
            {
                if (_subscribers.TryGetValue(channel, out var set)) set.TryRemove(connection.Id, out _);
                Fire(new UnsubscribeEvent(this, connection, channel));
                if (reason != DropReason.Shutdown) Presence(connection, channel, "leave");
            }
        }
        if (connection.UserId is { } user) Reindex(connection, user, null);
        Fire(new RemovedEvent(this, connection, reason));
    }

    /// <summary>Attaches a request to a connection and raises Revival if it was dying.</summary>
    internal Attachment Attach(CometConnection connection, object? native)
    {
        var attachment = connection.Attach(native, out var revived);
        if (revived) Fire(new RevivalEvent(this, connection));
        return attachment;
    }

    /// <summary>Detaches a finished request and raises Dying if no newer one took over.</summary>
    internal void Detach(CometConnection connection, Attachment attachment)
    {
        if (connection.Detach(attachment, Timestamp)) Fire(new DyingEvent(this, connection));
    }

    /// <summary>A gap: messages with sequence numbers in [From, To] meant for the reader are no longer held.</summary>
    internal readonly record struct Gap(long From, long To);

    /// <summary>
    /// Takes up to <paramref name="max"/> messages after <paramref name="cursor"/> for
    /// <paramref name="connection"/>, in sequence order, broadcasts and private messages merged,
    /// and moves the cursor past them. Returns the gap found first, if any.
    /// </summary>
    internal Gap? Collect(CometConnection connection, ref ReadCursor cursor, List<CometMessage> into, int max)
    {
        var visible = Log.VisibleSeq;
        var basis = Math.Max(cursor.LastSeq, connection.StartSeq);
        Gap? gap = null;
        var gapTo = Math.Max(Log.TrimmedThroughSeq, connection.Pending.DroppedThroughSeq);
        if (gapTo > basis)
        {
            gap = new Gap(basis + 1, gapTo);
            basis = gapTo;
            Counters.AddGap();
        }
        var first = Log.First;
        if (cursor.LogPosition < first) cursor.LogPosition = first;

        List<CometMessage>? pending = null;
        if (connection.Pending.Count > 0)
        {
            pending = new List<CometMessage>();
            connection.Pending.CopyRange(basis, visible, pending);
        }

        var pos = cursor.LogPosition;
        var pi = 0;
        var last = basis;
        var taken = 0;
        while (taken < max)
        {
            var m = Log.At(pos);
            var fromLog = m is not null && m.Seq <= visible;
            if (fromLog && (m!.Seq <= basis || !connection.Receives(m.Channel, m.Seq))) { pos++; continue; }
            var p = pending is not null && pi < pending.Count ? pending[pi] : null;
            if (!fromLog && p is null) break;
            if (p is not null && (!fromLog || p.Seq < m!.Seq))
            {
                into.Add(p);
                pi++;
                last = p.Seq;
            }
            else
            {
                into.Add(m!);
                pos++;
                last = m!.Seq;
            }
            taken++;
        }
        cursor.LogPosition = pos;
        cursor.LastSeq = last;
        return gap;
    }

    /// <summary>A cursor positioned just after sequence number <paramref name="after"/>.</summary>
    internal ReadCursor CursorAfter(CometConnection connection, long after)
    {
        var basis = Math.Max(after, connection.StartSeq);
        return new ReadCursor(Log.PositionAfter(basis), basis);
    }

    // ------------------------------------------------------------------ maintenance

    /// <summary>Removes connections dying longer than ConnExpires. Called by the scheduler.</summary>
    internal int ExpireConnections()
    {
        var removed = 0;
        var now = Timestamp;
        foreach (var (id, kicked) in _kicked)
        {
            if (kicked.Until < now) _kicked.TryRemove(id, out _);
        }
        var limit = TimeSpan.FromMilliseconds(Options.ConnExpires);
        foreach (var connection in _connections.Values)
        {
            if (connection.State != ConnectionState.Dying) continue;
            if (Elapsed(connection.DyingSince) <= limit) continue;
            if (!Fire(new BeforeRemoveEvent(this, connection))) continue;
            Remove(connection, DropReason.Expired);
            Counters.AddExpired();
            removed++;
        }
        return removed;
    }

    /// <summary>Discards kept messages older than CacheExpires. Called by the scheduler.</summary>
    internal int TrimCache()
    {
        var olderThan = NowMs - Options.CacheExpires;
        var removed = Log.Trim(olderThan, Options.MaxLogMessages, Options.MaxLogBytes);
        lock (Log.SendLock)
        {
            foreach (var (channel, queue) in _history)
            {
                if (Context.GetChannelOptions(channel)?.HistoryAge is not { } age) continue;
                var oldest = NowMs - (long)age.TotalMilliseconds;
                while (queue.Count > 0 && queue.Peek().Time < oldest) queue.Dequeue();
            }
        }
        Counters.AddLogTrimmed(removed);
        foreach (var connection in _connections.Values)
        {
            var dropped = connection.Pending.TrimOlderThan(olderThan);
            if (dropped > 0) Counters.AddPendingDropped(dropped);
            removed += dropped;
        }
        return removed;
    }

    /// <summary>Ends every connection (the host is stopping).</summary>
    internal void Shutdown()
    {
        foreach (var connection in _connections.Values) Remove(connection, DropReason.Shutdown);
    }

    /// <summary>What the engine holds and has done since it started.</summary>
    public CometStatistics GetStatistics()
    {
        var byStyle = new Dictionary<string, int>(StringComparer.Ordinal);
        var dying = 0;
        foreach (var c in _connections.Values)
        {
            byStyle[c.WorkStyle] = byStyle.GetValueOrDefault(c.WorkStyle) + 1;
            if (c.State == ConnectionState.Dying) dying++;
        }
        return new CometStatistics(
            Connections: ConnectionCount,
            DyingConnections: dying,
            ConnectionsByWorkStyle: byStyle,
            LogMessages: Log.Count,
            LogBytes: Log.Bytes,
            LastSequence: Log.LastSeq,
            Connects: Counters.Connects,
            Drops: Counters.Drops,
            Expired: Counters.Expired,
            MessagesSent: Counters.Sent,
            FramesWritten: Counters.Frames,
            BytesWritten: Counters.BytesWritten,
            Gaps: Counters.Gaps,
            LimitHits: Counters.LimitHits,
            PendingDropped: Counters.PendingDropped,
            LogTrimmed: Counters.LogTrimmed);
    }

    // ------------------------------------------------------------------ listeners

    /// <summary>Adds a listener for events of type <typeparamref name="TEvent"/>.</summary>
    public void AddListener<TEvent>(CometListener<TEvent> listener) where TEvent : CometEvent
    {
        ArgumentNullException.ThrowIfNull(listener);
        Hub<TEvent>().Add(listener);
    }

    /// <summary>Removes a listener added with <see cref="AddListener{TEvent}"/>. Returns false if it was not there.</summary>
    public bool RemoveListener<TEvent>(CometListener<TEvent> listener) where TEvent : CometEvent =>
        Hub<TEvent>().Remove(listener);

    /// <summary>Adds a delegate as a listener; returns it so that it can be removed.</summary>
    public CometListener<TEvent> On<TEvent>(Func<TEvent, bool> handler) where TEvent : CometEvent
    {
        var listener = new DelegateListener<TEvent>(handler);
        AddListener(listener);
        return listener;
    }

    /// <summary>Adds a delegate as a listener that never vetoes; returns it so that it can be removed.</summary>
    public CometListener<TEvent> On<TEvent>(Action<TEvent> handler) where TEvent : CometEvent =>
        On<TEvent>(e => { handler(e); return true; });

    public void AddBeforeConnectListener(CometListener<BeforeConnectEvent> l) => AddListener(l);
    public void RemoveBeforeConnectListener(CometListener<BeforeConnectEvent> l) => RemoveListener(l);
    public void AddConnectListener(CometListener<ConnectEvent> l) => AddListener(l);
    public void RemoveConnectListener(CometListener<ConnectEvent> l) => RemoveListener(l);
    public void AddBeforeDropListener(CometListener<BeforeDropEvent> l) => AddListener(l);
    public void RemoveBeforeDropListener(CometListener<BeforeDropEvent> l) => RemoveListener(l);
    public void AddDropListener(CometListener<DropEvent> l) => AddListener(l);
    public void RemoveDropListener(CometListener<DropEvent> l) => RemoveListener(l);
    public void AddDyingListener(CometListener<DyingEvent> l) => AddListener(l);
    public void RemoveDyingListener(CometListener<DyingEvent> l) => RemoveListener(l);
    public void AddRevivalListener(CometListener<RevivalEvent> l) => AddListener(l);
    public void RemoveRevivalListener(CometListener<RevivalEvent> l) => RemoveListener(l);
    public void AddMessageListener(CometListener<MessageEvent> l) => AddListener(l);
    public void RemoveMessageListener(CometListener<MessageEvent> l) => RemoveListener(l);
    public void AddBeforeRemoveListener(CometListener<BeforeRemoveEvent> l) => AddListener(l);
    public void RemoveBeforeRemoveListener(CometListener<BeforeRemoveEvent> l) => RemoveListener(l);
    public void AddRemovedListener(CometListener<RemovedEvent> l) => AddListener(l);
    public void RemoveRemovedListener(CometListener<RemovedEvent> l) => RemoveListener(l);
    public void AddErrorListener(CometListener<ErrorEvent> l) => AddListener(l);
    public void RemoveErrorListener(CometListener<ErrorEvent> l) => RemoveListener(l);
    public void AddSubscribeListener(CometListener<SubscribeEvent> l) => AddListener(l);
    public void AddUnsubscribeListener(CometListener<UnsubscribeEvent> l) => AddListener(l);
    public void AddBeforePublishListener(CometListener<BeforePublishEvent> l) => AddListener(l);
    public void AddUserOnlineListener(CometListener<UserOnlineEvent> l) => AddListener(l);
    public void AddUserOfflineListener(CometListener<UserOfflineEvent> l) => AddListener(l);
    public void AddOverflowListener(CometListener<OverflowEvent> l) => AddListener(l);
    public void RemoveOverflowListener(CometListener<OverflowEvent> l) => RemoveListener(l);

    private ListenerHub<TEvent> Hub<TEvent>() where TEvent : CometEvent =>
        (ListenerHub<TEvent>)_hubs.GetOrAdd(typeof(TEvent), static _ => new ListenerHub<TEvent>());

    /// <summary>
    /// Calls every listener of the event. Returns false if one vetoed. A listener that throws
    /// raises <see cref="ErrorEvent"/> and the others still run.
    /// </summary>
    internal bool Fire<TEvent>(TEvent e) where TEvent : CometEvent
    {
        if (!_hubs.TryGetValue(typeof(TEvent), out var hub)) return true;
        var ok = true;
        foreach (var listener in ((ListenerHub<TEvent>)hub).Snapshot)
        {
            try
            {
                if (!listener.HandleEvent(e)) ok = false;
            }
            catch (Exception ex)
            {
                ReportError(e.Connection, ex, e);
            }
        }
        return ok;
    }

    internal void ReportError(CometConnection? connection, Exception exception, CometEvent? source)
    {
        _logger.LogError(exception, "Comet listener or transport failed ({Event})", source?.GetType().Name ?? "transport");
        if (source is ErrorEvent) return; // an error listener that throws is logged, never re-raised
        if (!_hubs.TryGetValue(typeof(ErrorEvent), out var hub)) return;
        var error = new ErrorEvent(this, connection, exception, source);
        foreach (var listener in ((ListenerHub<ErrorEvent>)hub).Snapshot)
        {
            try { listener.HandleEvent(error); }
            catch (Exception ex) { _logger.LogError(ex, "Comet error listener failed"); }
        }
    }

    internal static string NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    internal static bool IsValidId(string? id)
    {
        if (id is null || id.Length != 22) return false;
        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_')) return false;
        }
        return true;
    }

    internal string Text(string en, string zh) => Options.Language == "zh" ? zh : en;

    private sealed class ListenerHub<TEvent> where TEvent : CometEvent
    {
        private CometListener<TEvent>[] _listeners = [];
        private readonly object _sync = new();

        internal CometListener<TEvent>[] Snapshot => Volatile.Read(ref _listeners);

        internal void Add(CometListener<TEvent> listener)
        {
            lock (_sync) _listeners = [.. _listeners, listener];
        }

        internal bool Remove(CometListener<TEvent> listener)
        {
            lock (_sync)
            {
                var index = Array.IndexOf(_listeners, listener);
                if (index < 0) return false;
                var copy = _listeners.ToList();
                copy.RemoveAt(index);
                _listeners = copy.ToArray();
                return true;
            }
        }
    }
}

/// <summary>A snapshot of what an engine holds and has done.</summary>
public sealed record CometStatistics(
    int Connections,
    int DyingConnections,
    IReadOnlyDictionary<string, int> ConnectionsByWorkStyle,
    long LogMessages,
    long LogBytes,
    long LastSequence,
    long Connects,
    long Drops,
    long Expired,
    long MessagesSent,
    long FramesWritten,
    long BytesWritten,
    long Gaps,
    long LimitHits,
    long PendingDropped,
    long LogTrimmed);

/// <summary>Thread-safe counters behind <see cref="CometEngine.GetStatistics"/>.</summary>
internal sealed class EngineCounters
{
    private long _connects, _drops, _expired, _sent, _frames, _bytes, _gaps, _limitHits, _pendingDropped, _logTrimmed;
    internal long Connects => Interlocked.Read(ref _connects);
    internal long Drops => Interlocked.Read(ref _drops);
    internal long Expired => Interlocked.Read(ref _expired);
    internal long Sent => Interlocked.Read(ref _sent);
    internal long Frames => Interlocked.Read(ref _frames);
    internal long BytesWritten => Interlocked.Read(ref _bytes);
    internal long Gaps => Interlocked.Read(ref _gaps);
    internal long LimitHits => Interlocked.Read(ref _limitHits);
    internal long PendingDropped => Interlocked.Read(ref _pendingDropped);
    internal long LogTrimmed => Interlocked.Read(ref _logTrimmed);
    internal void AddConnect() => Interlocked.Increment(ref _connects);
    internal void AddDrop() => Interlocked.Increment(ref _drops);
    internal void AddExpired() => Interlocked.Increment(ref _expired);
    internal void AddSent(long n) => Interlocked.Add(ref _sent, n);
    internal void AddWritten(long frames, long bytes) { Interlocked.Add(ref _frames, frames); Interlocked.Add(ref _bytes, bytes); }
    internal void AddGap() => Interlocked.Increment(ref _gaps);
    internal void AddLimitHit() => Interlocked.Increment(ref _limitHits);
    internal void AddPendingDropped(long n) => Interlocked.Add(ref _pendingDropped, n);
    internal void AddLogTrimmed(long n) => Interlocked.Add(ref _logTrimmed, n);
}
