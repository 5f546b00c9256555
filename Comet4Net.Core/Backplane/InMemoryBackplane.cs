using System.Collections.Concurrent;
using Comet4Net.Channels;
using Comet4Net.Connections;
using Comet4Net.Delivery;

namespace Comet4Net.Backplane;

/// <summary>
/// The backplane of a single process: the sequence is a counter under one short lock, the log is
/// this node's own, sessions and presence live in memory. Its epoch is new every time it is created,
/// and its numbers start above any number an earlier process handed out (at the start time in
/// milliseconds × 1000), so a client of a restarted process, even a plain EventSource that only
/// knows its Last-Event-ID, is told of a gap instead of being matched against new numbers. It is
/// its own shared log, session store and presence store; its control bus has no one to tell.
/// </summary>
public sealed class InMemoryBackplane : ICometBackplane, ISharedLog, ISessionStore, IPresenceStore, IControlBus
{
    private readonly object _appendLock = new();
    private readonly ConcurrentDictionary<string, (SessionState State, long Until)> _sessions = new(StringComparer.Ordinal);
    private readonly ChannelCounts _presence = new();
    private readonly TimeProvider _time;
    private IBackplaneReceiver? _receiver;
    private long _seq;

    /// <summary>Creates a backplane; <paramref name="time"/> times session expiry and sets where numbering starts (default: the system clock).</summary>
    public InMemoryBackplane(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _seq = _time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
    }

    /// <inheritdoc />
    public ISharedLog Log => this;

    /// <inheritdoc />
    public ISessionStore Sessions => this;

    /// <inheritdoc />
    public IPresenceStore Presence => this;

    /// <inheritdoc />
    public IControlBus Control => this;

    /// <inheritdoc />
    public string Epoch { get; } = ConnectionIds.NewId()[..8];

    /// <inheritdoc />
    public bool SharesSessions => false;

    /// <inheritdoc />
    public long LastSequence => Interlocked.Read(ref _seq);

    /// <inheritdoc />
    public void Start(IBackplaneReceiver receiver)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        if (Interlocked.CompareExchange(ref _receiver, receiver, null) is not null)
            throw new InvalidOperationException("An InMemoryBackplane serves one engine.");
    }

    /// <inheritdoc />
    /// <remarks>Numbers at once: the task is complete when this returns.</remarks>
    public ValueTask<CometMessage> AppendAsync(OutgoingMessage message) => new(Append(message));

    /// <summary>Numbers the message and hands it to the receiver under one short lock; returns it with its number.</summary>
    public CometMessage Append(OutgoingMessage message)
    {
        var receiver = _receiver ?? throw new InvalidOperationException("The backplane has not been started.");
        lock (_appendLock)
        {
            var sequenced = CometMessage.Sequenced(_seq + 1, message);
            Interlocked.Exchange(ref _seq, sequenced.Seq);
            receiver.Receive(sequenced);
            return sequenced;
        }
    }

    /// <inheritdoc />
    public void SaveSession(SessionState session, TimeSpan keepFor) =>
        _sessions[session.Id] = (session, _time.GetTimestamp() + (long)(keepFor.TotalSeconds * _time.TimestampFrequency));

    /// <inheritdoc />
    public void KeepSessions(IEnumerable<string> connectionIds, TimeSpan keepFor)
    {
        var until = _time.GetTimestamp() + (long)(keepFor.TotalSeconds * _time.TimestampFrequency);
        foreach (var id in connectionIds)
        {
            if (_sessions.TryGetValue(id, out var kept)) _sessions.TryUpdate(id, (kept.State, until), kept);
        }
    }

    /// <inheritdoc />
    public SessionState? FindSession(string connectionId)
    {
        if (!_sessions.TryGetValue(connectionId, out var kept)) return null;
        if (kept.Until >= _time.GetTimestamp()) return kept.State;
        _sessions.TryRemove(new KeyValuePair<string, (SessionState, long)>(connectionId, kept));
        return null;
    }

    /// <inheritdoc />
    public bool RemoveSession(string connectionId) => _sessions.TryRemove(connectionId, out _);

    /// <inheritdoc />
    public int ExpireSessions()
    {
        var now = _time.GetTimestamp();
        var removed = 0;
        foreach (var (id, kept) in _sessions)
        {
            if (kept.Until < now && _sessions.TryRemove(new KeyValuePair<string, (SessionState, long)>(id, kept))) removed++;
        }
        return removed;
    }

    /// <summary>How many sessions are kept now.</summary>
    public int SessionCount => _sessions.Count;

    /// <inheritdoc />
    public void Join(string channel, string connectionId, string? userId) => _presence.Join(channel, connectionId, userId);

    /// <inheritdoc />
    public bool Leave(string channel, string connectionId, string? userId) => _presence.Leave(channel, connectionId, userId);

    /// <inheritdoc />
    public ChannelCount Count(string channel, bool includeEveryChannel) => _presence.Count(channel, includeEveryChannel);
}
