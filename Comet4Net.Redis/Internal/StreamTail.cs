using System.Globalization;
using Comet4Net.Backplane;
using Comet4Net.Delivery;
using StackExchange.Redis;

namespace Comet4Net.Redis.Internal;

/// <summary>
/// Feeds this node's log from the shared stream, in sequence order, once each: what other nodes
/// appended is read from the stream, what this node appended is filed by its leader
/// (<see cref="GroupCommit"/>) without reading it back.
/// </summary>
/// <remarks>
/// Nothing reads from Redis under the filing lock: reads happen outside it and the filing skips what
/// was filed meanwhile, so the tail loop never holds up an append, nor an append the tail loop.
/// Numbers the stream skipped (trimmed before this node read them) or a new epoch (Redis lost its
/// log) become a hole, which readers report as a gap; so does a lost-sends marker's number.
/// </remarks>
internal sealed class StreamTail(RedisSharedLog log, long lastSeq, string epoch) : IDisposable
{
    /// <summary>Most entries one read of the stream returns.</summary>
    private const int ReadCount = 1000;

    private readonly object _file = new(); // filing into the receiver: one message at a time, in order
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource _stop = new();
    private IBackplaneReceiver? _receiver;
    private long _lastSeq = lastSeq;
    private string _epoch = epoch;
    private Task? _loop;

    internal long LastSeq => Interlocked.Read(ref _lastSeq);

    /// <summary>The highest number known to be in the stream (wake-ups, appends), at least <see cref="LastSeq"/>: the node's lag is the difference.</summary>
    internal long HeadSeq => Math.Max(Interlocked.Read(ref _headSeq), LastSeq);

    private long _headSeq;

    /// <summary>The stream holds <paramref name="seq"/> (a wake-up said so, or this node appended it).</summary>
    internal void Saw(long seq)
    {
        var head = Interlocked.Read(ref _headSeq);
        while (seq > head && Interlocked.CompareExchange(ref _headSeq, seq, head) is var was && was != head) head = was;
    }

    /// <summary>An append's round trip, for the node's metrics.</summary>
    internal void Appended(TimeSpan roundTrip, int messages) => _receiver?.Appended(roundTrip, messages);

    /// <summary>The group commit whose waiting sends the loop hands the lead back to when Redis answers.</summary>
    internal GroupCommit? Commit { get; set; }

    /// <summary>The last number of the stream when this node started: what it files before it serves (its backlog).</summary>
    internal long Backlog { get; init; }

    internal void Start(IBackplaneReceiver receiver)
    {
        if (Interlocked.CompareExchange(ref _receiver, receiver, null) is not null)
            throw new InvalidOperationException("A RedisBackplane serves one engine.");
        try
        {
            // Before the node serves anyone (the engine starts with the host): a connection opened now
            // starts after the backlog, a client resuming from an older position gets it.
            ReadAndFileAsync(Backlog).GetAwaiter().GetResult();
        }
        catch (Exception e) when (log.Calls.Failure(e))
        {
            log.Calls.Log(302, "read", e); // the loop reads it when Redis answers
        }
        _loop = Task.Run(RunAsync);
    }

    /// <summary>
    /// A hint that the stream grew (pub/sub; the loop also looks by itself every PollInterval).
    /// <paramref name="fromThisNode"/>: this node appended it, and its leader files it without reading it back.
    /// </summary>
    internal void Poke(bool fromThisNode = false)
    {
        if (!fromThisNode && _wake.CurrentCount == 0) _wake.Release();
    }

    /// <summary>
    /// Receives what a leader just appended, in number order, after whatever other nodes appended
    /// before it (read from the stream). A retried send's number may be one received already; a
    /// batch that started a new log (Redis lost the old one) comes after a hole.
    /// </summary>
    internal async Task FileAppendedAsync(List<(long Seq, OutgoingMessage Message)> batch, string batchEpoch)
    {
        try
        {
            foreach (var (seq, message) in batch.OrderBy(s => s.Seq))
            {
                if (seq > LastSeq + 1) await ReadAndFileAsync(seq - 1).ConfigureAwait(false);
                lock (_file)
                {
                    if (seq <= _lastSeq) continue; // a retried send that this node received already, or read back just now
                    if (batchEpoch != _epoch) NewEpoch(batchEpoch, seq);
                    else if (seq > _lastSeq + 1) Receive(CometMessage.Hole(_lastSeq, seq - 1)); // trimmed before this node read them
                    Receive(Filed(seq, message));
                }
            }
        }
        catch (Exception e) when (log.Calls.Failure(e))
        {
            log.Calls.Log(302, "read", e); // they are in the stream: the tail loop receives them, in order
            Poke();
        }
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                Commit?.Flush();
                if (log.Calls.Skip(log.LogKey)) await Task.Delay(Timeout.Infinite, _stop.Token).ConfigureAwait(false); // stopping, Redis away: nothing to read
                if (!await ReadAndFileAsync(long.MaxValue).ConfigureAwait(false))
                    await _wake.WaitAsync(log.Options.PollInterval, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                log.Calls.Log(302, "read", e);
                try { await Task.Delay(500, _stop.Token).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>
    /// Reads the stream's entries after the last one received, up to <paramref name="upTo"/>, and
    /// receives those not received meanwhile. Returns true if it may have more. Throws if Redis does not answer.
    /// </summary>
    private async Task<bool> ReadAndFileAsync(long upTo)
    {
        while (true)
        {
            var after = LastSeq;
            if (after >= upTo) return false;
            var entries = await log.Database.StreamRangeAsync(log.LogKey, "(" + Id(after), upTo == long.MaxValue ? "+" : Id(upTo), ReadCount).ConfigureAwait(false);
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
        log.Epoch = newEpoch;
        Receive(CometMessage.Hole(_lastSeq, firstSeq - 1));
    }

    private void Receive(CometMessage message)
    {
        _receiver!.Receive(message);
        Interlocked.Exchange(ref _lastSeq, message.Seq);
    }

    /// <summary>A stream entry as this node's log holds it: a message, or for a lost-sends marker a hole of one number.</summary>
    private static CometMessage Filed(long seq, OutgoingMessage message) =>
        GroupCommit.IsLostMarker(message) ? CometMessage.Hole(seq - 1, seq) : CometMessage.Sequenced(seq, message);

    private static string Id(long seq) => seq.ToString(CultureInfo.InvariantCulture) + "-0";

    public void Dispose()
    {
        _stop.Cancel();
        try { _loop?.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
    }
}
