using System.Collections.Concurrent;
using Comet4Net.Backplane;
using Comet4Net.Channels;
using Comet4Net.Connections;
using Comet4Net.Diagnostics;

namespace Comet4Net.Delivery;

/// <summary>
/// This node's side of the shared log: files each message the backplane hands it (in sequence
/// order) for the node's connections, then wakes their writers. A broadcast is one entry in the
/// local <see cref="MessageLog"/>; a private message goes to the queue of each target held here,
/// and into <see cref="Addressed"/>, from which a session that resumes later takes what is its own.
/// </summary>
internal sealed class LocalDelivery(CometOptions options, ConnectionRegistry registry, UserIndex users, ChannelHistory history, EngineCounters counters, string nodeId)
    : IBackplaneReceiver, IControlReceiver
{
    private readonly ConcurrentQueue<(CometConnection Connection, int Dropped)> _overflows = new();
    private int _overflowsScheduled;

    internal MessageLog Log { get; } = new();

    /// <summary>Private messages (SendTo, SendToUser), kept as long as broadcasts are, for sessions that resume.</summary>
    internal MessageLog Addressed { get; } = new();

    /// <summary>Starts both logs after <paramref name="seq"/> (the backplane's last number when the node starts).</summary>
    internal void Begin(long seq)
    {
        Log.Begin(seq);
        Addressed.Begin(seq);
    }

    /// <summary>Pulsed on every broadcast: wakes every waiting writer at once.</summary>
    internal AsyncSignal BroadcastSignal { get; } = new();

    /// <summary>Pulsed every half heartbeat interval by the scheduler.</summary>
    internal AsyncSignal HeartbeatSignal { get; } = new();

    /// <summary>What to do when another node asks for a kick (set by the engine).</summary>
    internal Action<string?, string?, string?>? OnKick { get; set; }

    /// <inheritdoc />
    public void Kick(string? connectionId, string? userId, string? reason) => OnKick?.Invoke(connectionId, userId, reason);

    /// <summary>What to do when another node ended a connection for good (set by the engine).</summary>
    internal Action<string>? OnForget { get; set; }

    /// <inheritdoc />
    public void Forget(string connectionId) => OnForget?.Invoke(connectionId);

    /// <summary>Handles the overflows waiting in the queue (set by the engine: the sender's policy and OverflowEvent).</summary>
    internal Action? OnOverflows { get; set; }

    /// <inheritdoc />
    public void Receive(CometMessage message)
    {
        var span = CometTracing.StartReceive(message, nodeId, out var previous);
        try
        {
            File(message);
        }
        finally
        {
            CometTracing.Received(span, previous);
        }
    }

    /// <inheritdoc />
    public void Appended(TimeSpan roundTrip, int messages) => Metrics?.RecordAppend(roundTrip);

    /// <summary>The engine's meter (set by the engine), for what the backplane reports.</summary>
    internal CometMetrics? Metrics { get; set; }

    /// <summary>The delta channels' chains (set by the engine): every message is shown to them in order.</summary>
    internal DeltaChains? Deltas { get; set; }

    private void File(CometMessage message)
    {
        if (message.TargetIds is not { } targets)
        {
            Deltas?.Offer(message);
            if (message.HoleAfter is null) history.Offer(message);
            AppendWithinLimits(Log, message);
            BroadcastSignal.Pulse();
            return;
        }
        AppendWithinLimits(Addressed, message);
        var held = new List<CometConnection>(targets.Length);
        foreach (var id in targets)
        {
            if (registry.Find(id) is { State: not ConnectionState.Dropped } connection) held.Add(connection);
        }
        // A message for a user sent from another node: this node's connections of the user get it too.
        if (message.TargetUser is { } user && message.Origin != nodeId)
        {
            foreach (var connection in users.ConnectionsOf(user))
            {
                if (connection.State != ConnectionState.Dropped && !held.Contains(connection)) held.Add(connection);
            }
        }
        foreach (var connection in held)
        {
            var dropped = connection.Pending.Add(message, options.MaxPendingMessages, options.MaxPendingBytes);
            if (dropped > 0) _overflows.Enqueue((connection, dropped));
        }
        Log.Publish(message.Seq);
        foreach (var connection in held) connection.WakePrivate();
        // This node's own sends handle their overflows as soon as the append returns; a message from
        // another node (or one sent to an away session) has no send here to do it, so it is done on the
        // thread pool, outside the backplane's filing lock, which an overflow listener must not run under.
        if (message.Origin != nodeId && !_overflows.IsEmpty) ScheduleOverflows();
    }

    /// <summary>Counts a resumed connection's refill that did not fit in its queue as an overflow; the caller handles it once the connection is held.</summary>
    internal void Overflowed(CometConnection connection, int dropped)
    {
        if (dropped > 0) _overflows.Enqueue((connection, dropped));
    }

    private void ScheduleOverflows()
    {
        if (OnOverflows is null || Interlocked.Exchange(ref _overflowsScheduled, 1) == 1) return;
        ThreadPool.UnsafeQueueUserWorkItem(static self =>
        {
            Volatile.Write(ref self._overflowsScheduled, 0); // an overflow queued from now on schedules another turn
            self.OnOverflows?.Invoke();
        }, this, preferLocal: false);
    }

    /// <summary>Appends to one of the node's logs, trims it back within MaxLogMessages / MaxLogBytes, and makes the message visible.</summary>
    private void AppendWithinLimits(MessageLog log, CometMessage message)
    {
        log.Append(message);
        if (log.Count > options.MaxLogMessages || log.Bytes > options.MaxLogBytes)
            counters.AddLogTrimmed(log.Trim(long.MinValue, options.MaxLogMessages, options.MaxLogBytes));
        log.Publish(message.Seq);
    }

    /// <summary>Forgets broadcasts and private messages older than <paramref name="olderThan"/> (ms since 1970). Returns how many.</summary>
    internal int TrimOlderThan(long olderThan)
    {
        var removed = Log.Trim(olderThan, options.MaxLogMessages, options.MaxLogBytes)
            + Addressed.Trim(olderThan, options.MaxLogMessages, options.MaxLogBytes);
        counters.AddLogTrimmed(removed);
        history.Trim();
        foreach (var connection in registry.Enumerate())
        {
            var dropped = connection.Pending.TrimOlderThan(olderThan);
            if (dropped > 0) counters.AddPendingDropped(dropped);
            removed += dropped;
        }
        return removed;
    }

    /// <summary>
    /// Refills a resumed connection's private queue with what the addressed log still holds for it
    /// (by id or by user) after position <paramref name="after"/>; what was trimmed meanwhile becomes a gap.
    /// Returns how many did not fit in the queue (the oldest, dropped: a gap too), for the caller to handle as an overflow.
    /// </summary>
    internal int Refill(CometConnection connection, long after)
    {
        var dropped = 0;
        after = Math.Max(after, connection.StartSeq);
        var trimmed = Addressed.TrimmedThroughSeq;
        if (trimmed > after) connection.Pending.MarkDroppedThrough(trimmed);
        for (var pos = Math.Max(Addressed.PositionAfter(after), Addressed.First); Addressed.At(pos) is { } m; pos++)
        {
            if (m.Seq > after && m.IsFor(connection.Id, connection.UserId))
                dropped += connection.Pending.Add(m, options.MaxPendingMessages, options.MaxPendingBytes);
        }
        return dropped;
    }

    /// <summary>Takes the connections whose queues overflowed since the last call (handled outside the append).</summary>
    internal bool TryTakeOverflow(out (CometConnection Connection, int Dropped) overflow) => _overflows.TryDequeue(out overflow);
}
