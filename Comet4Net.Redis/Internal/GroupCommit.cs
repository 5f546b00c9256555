using System.Globalization;
using Comet4Net.Delivery;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Comet4Net.Redis.Internal;

/// <summary>
/// Appends this node's sends to the shared stream, in the order they were made, without holding a
/// thread while Redis answers.
/// </summary>
/// <remarks>
/// <para>
/// A send takes its place in the outbox when it is made (so sends made one after another, awaited
/// or not, are numbered in that order) and the caller gets a task. One leader at a time appends the
/// oldest batch with one script call and awaits Redis; sends made meanwhile gather in the next
/// batch. A batch's sends share one <see cref="TaskCompletionSource"/>, completed when all of them
/// are numbered and filed into this node's log (<see cref="StreamTail.FileAppendedAsync"/>).
/// </para>
/// <para>
/// While Redis is unreachable the sends wait in order (at most MaxStreamLength; past it the oldest
/// go, and the first batch after Redis returns starts with a marker whose number every node files as
/// a hole). The tail loop hands the lead back (<see cref="Flush"/>) once Redis answers.
/// </para>
/// </remarks>
internal sealed partial class GroupCommit(RedisSharedLog log, StreamTail tail)
{
    /// <summary>Most sends one script call appends (a backlog that waited for Redis goes out in batches of this size).</summary>
    internal const int MaxBatch = 256;

    private const string LostEvent = "lost";

    private readonly object _lock = new();        // the outbox, the waiting queue and who leads
    private readonly Queue<Batch> _outbox = new(); // sends not tried yet, in order, in batches of at most MaxBatch
    private readonly Queue<Send> _waiting = new(); // tried while Redis was unreachable, in order
    private Batch? _open;                         // the batch new sends join until a leader takes it
    private int _queued;                          // sends in the outbox
    private bool _leading, _stopped;
    private long _sends;
    private long _lost; // waiting sends dropped (the bound was reached while Redis was away), not yet told

    /// <summary>Script calls made and sends they carried (for tests and diagnostics).</summary>
    internal long Batches, Batched;

    /// <summary>Sends made together: done when every one of them is numbered (or dropped: number 0).</summary>
    private sealed class Batch
    {
        internal readonly List<Send> Sends = new();
        internal readonly TaskCompletionSource Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        internal int Unsettled;

        internal void Settle()
        {
            if (Interlocked.Decrement(ref Unsettled) == 0) Done.TrySetResult();
        }
    }

    /// <summary>One send: its message, its id (so that a retry is appended once), its batch (none: a marker) and once appended its number.</summary>
    private sealed class Send(OutgoingMessage message, string id, Batch? batch)
    {
        internal OutgoingMessage Message { get; } = message;
        internal string Id { get; } = id;
        internal Batch? Batch { get; } = batch;
        internal long Seq;
        internal bool Repeat; // an idempotency key seen within the window: not appended, Seq is the first one's
    }

    /// <summary>Sends not handed to Redis yet: waiting for Redis to come back, or queued behind the batch in flight.</summary>
    internal int Waiting
    {
        get { lock (_lock) return _waiting.Count + _queued; }
    }

    /// <summary>
    /// Queues the message behind every send made before it and returns at once; the task completes
    /// when it is numbered and this node's receiver has it (number 0: dropped while it waited for Redis).
    /// </summary>
    internal ValueTask<CometMessage> AppendAsync(OutgoingMessage message)
    {
        Send send;
        bool lead;
        lock (_lock)
        {
            if (_stopped) throw new ObjectDisposedException(nameof(RedisBackplane));
            if (_open is null || _open.Sends.Count >= MaxBatch) _outbox.Enqueue(_open = new Batch());
            send = new Send(message, NewId(), _open);
            _open.Sends.Add(send);
            _open.Unsettled++;
            _queued++;
            Bound();
            lead = !_leading;
            _leading |= lead;
        }
        if (lead) _ = LeadAsync();
        var done = send.Batch!.Done.Task;
        return done.IsCompleted ? new(Result(send)) : Completion(done, send);
    }

    private static async ValueTask<CometMessage> Completion(Task done, Send send)
    {
        await done.ConfigureAwait(false);
        return Result(send);
    }

    private static CometMessage Result(Send send) => Volatile.Read(ref send.Repeat)
        ? CometMessage.Repeated(Volatile.Read(ref send.Seq), send.Message)
        : CometMessage.Sequenced(Volatile.Read(ref send.Seq), send.Message);

    private string NewId() => log.NodeName + ":" + (++_sends).ToString(CultureInfo.InvariantCulture);

    /// <summary>Takes the lead if nobody has it and something waits while Redis answers (the tail loop calls it each turn).</summary>
    internal void Flush()
    {
        lock (_lock)
        {
            if (_leading || _stopped || _waiting.Count == 0 && _outbox.Count == 0 || !log.IsConnected) return;
            _leading = true;
        }
        _ = LeadAsync();
    }

    /// <summary>
    /// As the leader: appends batches (what waited for Redis first, then the outbox, in order) until
    /// nothing is left, Redis is away or an append failed (the tail loop then hands the lead back).
    /// </summary>
    private async Task LeadAsync()
    {
        try
        {
            while (await LeadOnceAsync().ConfigureAwait(false)) { }
        }
        catch (Exception e)
        {
            log.Calls.Log(303, "append", e); // unexpected: the sends stay queued and the tail loop retries
            lock (_lock) _leading = false;
        }
    }

    /// <summary>One batch. Returns true to go on leading; false once the lead was given up.</summary>
    private async Task<bool> LeadOnceAsync()
    {
        var batch = new List<Send>();
        int fromWaiting, marker = 0;
        long lost;
        lock (_lock)
        {
            if (!log.IsConnected || _stopped)
            {
                // Redis known to be away: wait on the node at once rather than in the Redis client for seconds.
                while (_outbox.TryDequeue(out var queued))
                {
                    _queued -= queued.Sends.Count;
                    WaitForRedis(queued.Sends);
                }
                _open = null;
                _leading = false;
                return false;
            }
            lost = _lost;
            if (lost > 0)
            {
                batch.Add(new Send(LostMarker(lost), log.NodeName + ":lost:" + (++_sends).ToString(CultureInfo.InvariantCulture), null));
                marker = 1;
            }
            foreach (var waiting in _waiting)
            {
                if (batch.Count >= MaxBatch) break;
                batch.Add(waiting);
            }
            fromWaiting = batch.Count;
            if (fromWaiting == marker && _outbox.TryDequeue(out var next))
            {
                if (ReferenceEquals(next, _open)) _open = null;
                _queued -= next.Sends.Count;
                batch.AddRange(next.Sends);
            }
            if (batch.Count == marker)
            {
                _leading = false;
                return false;
            }
        }
        (string Epoch, long[] Seqs, bool[] Repeats)? appended = null;
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            appended = await log.AppendScriptAsync(batch.Select(s => (s.Message, s.Id)).ToArray()).ConfigureAwait(false);
            tail.Appended(System.Diagnostics.Stopwatch.GetElapsedTime(started), batch.Count); // comet.backplane.append.duration
            Interlocked.Increment(ref Batches);
            Interlocked.Add(ref Batched, batch.Count);
        }
        catch (Exception e) when (log.Calls.Failure(e))
        {
            log.Calls.Log(303, "append", e);
        }
        if (appended is not { } result)
        {
            lock (_lock)
            {
                // Not appended: the new sends wait behind the older ones (still queued); the marker goes with the next batch.
                WaitForRedis(batch.Skip(fromWaiting));
                _leading = false;
            }
            return false;
        }
        lock (_lock)
        {
            for (var i = marker; i < fromWaiting; i++) _waiting.Dequeue();
            _lost -= lost;
        }
        for (var i = 0; i < batch.Count; i++)
        {
            Volatile.Write(ref batch[i].Repeat, result.Repeats[i]);
            Volatile.Write(ref batch[i].Seq, result.Seqs[i]);
        }
        try
        {
            await tail.FileAppendedAsync(batch.Where(s => !s.Repeat).Select(s => (s.Seq, s.Message)).ToList(), result.Epoch).ConfigureAwait(false);
        }
        finally
        {
            foreach (var send in batch) send.Batch?.Settle(); // numbered: done, even if filing failed (the tail loop files them)
        }
        return true;
    }

    /// <summary>Queues sends to go out when Redis answers, oldest first (they are older than the outbox's). Under the lock.</summary>
    private void WaitForRedis(IEnumerable<Send> sends)
    {
        foreach (var send in sends) _waiting.Enqueue(send);
        Bound();
    }

    /// <summary>
    /// Keeps at most MaxStreamLength sends waiting (the waiting queue and the outbox): past it the oldest
    /// go (number 0), and the next batch tells every node of the gap. Under the lock.
    /// </summary>
    private void Bound()
    {
        var dropped = 0;
        while (_waiting.Count + _queued > log.Options.MaxStreamLength)
        {
            if (_waiting.TryDequeue(out var oldest))
            {
                oldest.Batch?.Settle();
            }
            else
            {
                var batch = _outbox.Peek();
                var first = batch.Sends[0];
                batch.Sends.RemoveAt(0);
                _queued--;
                if (batch.Sends.Count == 0 && ReferenceEquals(_outbox.Dequeue(), _open)) _open = null;
                first.Batch?.Settle();
            }
            dropped++;
        }
        if (dropped == 0) return;
        _lost += dropped;
        LogWaitingDropped(log.Calls.Logger, dropped, log.Options.MaxStreamLength);
    }

    /// <summary>Stops: sends not appended yet complete with number 0.</summary>
    internal void Stop()
    {
        lock (_lock)
        {
            _stopped = true;
            foreach (var send in _waiting) send.Batch?.Settle();
            _waiting.Clear();
            while (_outbox.TryDequeue(out var batch)) batch.Done.TrySetResult();
            _open = null;
            _queued = 0;
        }
    }

    /// <summary>The entry that stands for sends dropped while they waited for Redis: its number becomes a hole.</summary>
    private static OutgoingMessage LostMarker(long count) =>
        new(CometProtocol.SystemChannel, "{\"lost\":" + count.ToString(CultureInfo.InvariantCulture) + "}", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Event: LostEvent);

    /// <summary>True for the entry <see cref="LostMarker"/> made: every node files its number as a hole.</summary>
    internal static bool IsLostMarker(OutgoingMessage message) => message.Channel == CometProtocol.SystemChannel && message.Event == LostEvent;

    [LoggerMessage(EventId = 305, Level = LogLevel.Error, Message = "Comet4Net dropped {Count} messages that waited on this node for Redis (at most {Bound}, RedisBackplaneOptions.MaxStreamLength, wait); every client will be told of a gap when Redis answers again")]
    private static partial void LogWaitingDropped(ILogger logger, int count, int bound);
}
