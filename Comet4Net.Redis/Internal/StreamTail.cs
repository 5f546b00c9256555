using System.Globalization;
using Comet4Net.Backplane;
using Comet4Net.Delivery;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Comet4Net.Redis.Internal;

/// <summary>
/// Feeds this node's log from the shared stream, in sequence order, once each, and appends this
/// node's sends to it.
/// </summary>
/// <remarks>
/// <para>
/// Appending is a group commit: concurrent sends queue in an outbox and one of them at a time (the
/// leader) appends everything queued with one script call, numbered in queue order, then files
/// what it appended into this node's log itself (it holds the messages; it reads the stream only
/// for what other nodes appended before them). Nothing reads from Redis under the filing lock:
/// reads happen outside it and the filing skips what was filed meanwhile, so the tail loop never
/// holds up an append, nor an append the tail loop.
/// </para>
/// <para>
/// Numbers the stream skipped (trimmed before this node read them) or a new epoch (Redis lost its
/// log) become a hole, which readers report as a gap. So do sends that waited for Redis longer than
/// the waiting queue holds: they never got numbers, so the first batch that goes out after them
/// starts with a marker entry that takes one number, and every node files that number as a hole.
/// </para>
/// </remarks>
internal sealed partial class StreamTail(RedisBackplane backplane, long lastSeq, string epoch) : IDisposable
{
    /// <summary>Most sends one script call appends (a backlog that waited for Redis goes out in batches of this size).</summary>
    internal const int MaxBatch = 256;

    /// <summary>Most entries one read of the stream returns.</summary>
    private const int ReadCount = 1000;

    private readonly object _file = new();   // filing into the receiver: one message at a time, in order
    private readonly object _send = new();   // the outbox, the waiting queue and who leads
    private readonly List<Send> _outbox = new();
    private readonly Queue<Send> _waiting = new(); // sent while Redis was unreachable, in order
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource _stop = new();
    private bool _leading;
    private long _sends;
    private long _lost; // waiting sends dropped (the bound was reached while Redis was away), not yet told
    private IBackplaneReceiver? _receiver;
    private long _lastSeq = lastSeq;
    private string _epoch = epoch;
    private Task? _loop;

    /// <summary>One send: its message, its id (so that a retry is appended once), and once done its number (0: waits for Redis).</summary>
    private sealed class Send(OutgoingMessage message, string id)
    {
        internal OutgoingMessage Message { get; } = message;
        internal string Id { get; } = id;
        internal long Seq;
        internal bool Done;
    }

    internal long LastSeq => Interlocked.Read(ref _lastSeq);

    /// <summary>Script calls made and sends they carried (for tests and diagnostics).</summary>
    internal long Batches, Batched;

    internal void Start(IBackplaneReceiver receiver)
    {
        if (Interlocked.CompareExchange(ref _receiver, receiver, null) is not null)
            throw new InvalidOperationException("A RedisBackplane serves one engine.");
        _loop = Task.Factory.StartNew(Run, TaskCreationOptions.LongRunning);
    }

    /// <summary>
    /// A hint that the stream grew (pub/sub; the loop also looks by itself every PollInterval).
    /// <paramref name="fromThisNode"/>: this node appended it, and its leader files it without reading it back.
    /// </summary>
    internal void Poke(bool fromThisNode = false)
    {
        if (!fromThisNode && _wake.CurrentCount == 0) _wake.Release();
    }

    /// <summary>Messages waiting for Redis to come back.</summary>
    internal int Waiting
    {
        get { lock (_send) return _waiting.Count; }
    }

    /// <summary>
    /// Appends the message (with whatever other threads send meanwhile, in one script call) and
    /// receives everything up to it, in order. While Redis is unreachable the message waits, in
    /// order, and goes out when Redis answers again; it is returned with number 0 (not numbered yet).
    /// </summary>
    /// <remarks>
    /// Each send has an id of its own that the script remembers (a minute): a send retried after a
    /// failure whose outcome was unknown (a timeout after Redis ran the script) is appended once.
    /// </remarks>
    internal CometMessage Append(OutgoingMessage message)
    {
        Send send;
        lock (_send)
        {
            send = new Send(message, backplane.NodeName + ":" + (++_sends).ToString(CultureInfo.InvariantCulture));
            _outbox.Add(send);
        }
        while (true)
        {
            lock (_send)
            {
                while (!send.Done && _leading) Monitor.Wait(_send);
                if (send.Done) return CometMessage.Sequenced(send.Seq, message);
                _leading = true;
            }
            LeadOnce();
        }
    }

    /// <summary>
    /// As the leader: appends one batch (what waited for Redis first, then the outbox, in order),
    /// files it, marks its sends done, and hands the lead on.
    /// </summary>
    private void LeadOnce()
    {
        var batch = new List<Send>();
        try
        {
            int fromWaiting, marker = 0;
            long lost;
            lock (_send)
            {
                lost = _lost;
                if (lost > 0)
                {
                    batch.Add(new Send(LostMarker(lost), backplane.NodeName + ":lost:" + (++_sends).ToString(CultureInfo.InvariantCulture)));
                    marker = 1;
                }
                foreach (var waiting in _waiting)
                {
                    if (batch.Count >= MaxBatch) break;
                    batch.Add(waiting);
                }
                fromWaiting = batch.Count;
                var fromOutbox = Math.Min(MaxBatch - batch.Count, _outbox.Count); // the loop above keeps the batch within MaxBatch
                batch.AddRange(_outbox.GetRange(0, fromOutbox));
                _outbox.RemoveRange(0, fromOutbox);
            }
            if (batch.Count == marker) return;
            long[]? seqs = null;
            var batchEpoch = "";
            // Redis known to be away: wait on the node at once rather than in the Redis client for seconds.
            if (backplane.IsConnected)
            {
                try
                {
                    (batchEpoch, seqs) = backplane.AppendScript(batch.Select(s => (s.Message, s.Id)).ToArray());
                    Interlocked.Increment(ref Batches);
                    Interlocked.Add(ref Batched, batch.Count);
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    LogAppendWaits(backplane.Logger, e);
                }
            }
            if (seqs is null)
            {
                lock (_send)
                {
                    // The new sends wait behind the older ones (still queued), returned with number 0.
                    for (var i = fromWaiting; i < batch.Count; i++) _waiting.Enqueue(batch[i]);
                    var dropped = 0;
                    while (_waiting.Count > backplane.Options.MaxStreamLength) // bounded: the oldest go first, and readers are told
                    {
                        _waiting.Dequeue();
                        dropped++;
                    }
                    if (dropped > 0)
                    {
                        _lost += dropped;
                        LogWaitingDropped(backplane.Logger, dropped, backplane.Options.MaxStreamLength);
                    }
                }
                // The marker (if any) was not appended: it goes with the next batch, counting these too.
                batch.RemoveRange(0, marker);
                return;
            }
            lock (_send)
            {
                for (var i = marker; i < fromWaiting; i++) _waiting.Dequeue();
                _lost -= lost;
            }
            for (var i = 0; i < batch.Count; i++) batch[i].Seq = seqs[i];
            FileAppended(batch, batchEpoch);
        }
        finally
        {
            lock (_send)
            {
                foreach (var send in batch) send.Done = true;
                _leading = false;
                Monitor.PulseAll(_send);
            }
        }
    }

    /// <summary>
    /// Receives what the leader just appended, in number order, after whatever other nodes appended
    /// before it (read from the stream). A retried send's number may be one received already; a
    /// batch that started a new log (Redis lost the old one) comes after a hole.
    /// </summary>
    private void FileAppended(List<Send> batch, string batchEpoch)
    {
        try
        {
            foreach (var send in batch.OrderBy(s => s.Seq))
            {
                var seq = send.Seq;
                if (seq > LastSeq + 1) ReadAndFile(seq - 1);
                lock (_file)
                {
                    if (seq <= _lastSeq) continue; // a retried send that this node received already, or read back just now
                    if (batchEpoch != _epoch) NewEpoch(batchEpoch, seq);
                    else if (seq > _lastSeq + 1) Receive(CometMessage.Hole(_lastSeq, seq - 1)); // trimmed before this node read them
                    Receive(Filed(seq, send.Message));
                }
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogTailFailed(backplane.Logger, e); // they are in the stream: the tail loop receives them, in order
            Poke();
        }
    }

    private void Run()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                FlushWaiting();
                if (!ReadAndFile(long.MaxValue)) _wake.Wait(backplane.Options.PollInterval, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                LogTailFailed(backplane.Logger, e);
                _stop.Token.WaitHandle.WaitOne(500);
            }
        }
    }

    /// <summary>Sends what waited for Redis when no send comes to take it along (one batch per turn of the loop).</summary>
    private void FlushWaiting()
    {
        lock (_send)
        {
            if (_waiting.Count == 0 || _leading || !backplane.IsConnected) return;
            _leading = true;
        }
        LeadOnce();
    }

    /// <summary>
    /// Reads the stream's entries after the last one received, up to <paramref name="upTo"/>, and
    /// receives those not received meanwhile. Returns true if it may have more. Throws if Redis does not answer.
    /// </summary>
    private bool ReadAndFile(long upTo)
    {
        while (true)
        {
            var after = LastSeq;
            if (after >= upTo) return false;
            var entries = backplane.Database.StreamRange(backplane.LogKey, "(" + Id(after), upTo == long.MaxValue ? "+" : Id(upTo), ReadCount);
            if (entries.Length == 0) return false;
            lock (_file)
            {
                foreach (var entry in entries)
                {
                    var seq = long.Parse(((string)entry.Id!).Split('-')[0], CultureInfo.InvariantCulture);
                    if (seq <= _lastSeq) continue; // received meanwhile (this node's own append, or another read)
                    var entryEpoch = (string?)entry["e"];
                    if (entryEpoch is not null && entryEpoch != _epoch) NewEpoch(entryEpoch, seq);
                    else if (seq > _lastSeq + 1) Receive(CometMessage.Hole(_lastSeq, seq - 1)); // trimmed before this node read them
                    Receive(Filed(seq, MessageCodec.Decode((string)entry["p"]!)));
                }
            }
            if (entries.Length < ReadCount) return false;
            if (upTo != long.MaxValue) continue;
            return true;
        }
    }

    /// <summary>Redis lost its log and started a new one: whatever came after our last number is unknown. Under the filing lock.</summary>
    private void NewEpoch(string newEpoch, long firstSeq)
    {
        Volatile.Write(ref _epoch, newEpoch);
        backplane.Epoch = newEpoch;
        Receive(CometMessage.Hole(_lastSeq, firstSeq - 1));
    }

    private void Receive(CometMessage message)
    {
        _receiver!.Receive(message);
        Interlocked.Exchange(ref _lastSeq, message.Seq);
    }

    /// <summary>The entry that stands for sends dropped while they waited for Redis: its number becomes a hole.</summary>
    private static OutgoingMessage LostMarker(long count) =>
        new(CometProtocol.SystemChannel, "{\"lost\":" + count.ToString(CultureInfo.InvariantCulture) + "}", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Event: LostEvent);

    private const string LostEvent = "lost";

    /// <summary>A stream entry as this node's log holds it: a message, or for a lost-sends marker a hole of one number.</summary>
    private static CometMessage Filed(long seq, OutgoingMessage message) =>
        message.Channel == CometProtocol.SystemChannel && message.Event == LostEvent
            ? CometMessage.Hole(seq - 1, seq)
            : CometMessage.Sequenced(seq, message);

    private static string Id(long seq) => seq.ToString(CultureInfo.InvariantCulture) + "-0";

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Comet4Net could not append to the shared stream in Redis; the message waits on this node and goes out, in order, when Redis answers")]
    private static partial void LogAppendWaits(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 305, Level = LogLevel.Error, Message = "Comet4Net dropped {Count} messages that waited on this node for Redis (at most {Bound}, RedisBackplaneOptions.MaxStreamLength, wait); every client will be told of a gap when Redis answers again")]
    private static partial void LogWaitingDropped(ILogger logger, int count, int bound);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Comet4Net could not read the shared stream from Redis; this node serves what it holds and catches up when Redis answers")]
    private static partial void LogTailFailed(ILogger logger, Exception exception);

    public void Dispose()
    {
        _stop.Cancel();
        try { _loop?.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
    }
}
