using System.Globalization;
using Comet4Net.Backplane;
using Comet4Net.Delivery;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Comet4Net.Redis.Internal;

/// <summary>
/// Feeds this node's log from the shared stream, in sequence order, once each. A node's own append
/// catches up under the same lock, so that what other nodes appended before it is received first.
/// Numbers the stream skipped (trimmed before this node read them) or a new epoch (Redis lost its
/// log) become a hole, which readers report as a gap.
/// </summary>
internal sealed partial class StreamTail(RedisBackplane backplane, long lastSeq, string epoch) : IDisposable
{
    private readonly object _sync = new();
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource _stop = new();
    private readonly Queue<(OutgoingMessage Message, string SendId)> _waiting = new(); // sent while Redis was unreachable, in order
    private long _sends;
    private IBackplaneReceiver? _receiver;
    private long _lastSeq = lastSeq;
    private string _epoch = epoch;
    private Task? _loop;

    internal long LastSeq => Interlocked.Read(ref _lastSeq);

    internal void Start(IBackplaneReceiver receiver)
    {
        if (Interlocked.CompareExchange(ref _receiver, receiver, null) is not null)
            throw new InvalidOperationException("A RedisBackplane serves one engine.");
        _loop = Task.Factory.StartNew(Run, TaskCreationOptions.LongRunning);
    }

    /// <summary>A hint that the stream grew (pub/sub); the loop also looks by itself every PollInterval.</summary>
    internal void Poke()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    /// <summary>Messages waiting for Redis to come back.</summary>
    internal int Waiting
    {
        get { lock (_sync) return _waiting.Count; }
    }

    /// <summary>
    /// Runs <paramref name="append"/> (the script, which returns the new number) and receives
    /// everything up to it, in order. While Redis is unreachable the message waits, in order, and
    /// goes out when Redis answers again; it is returned with number 0 (not numbered yet).
    /// </summary>
    /// <remarks>
    /// Each send has an id of its own that the script remembers (a minute): a send retried after a
    /// failure whose outcome was unknown (a timeout after Redis ran the script) is appended once.
    /// </remarks>
    internal CometMessage Append(Func<OutgoingMessage, string, long> append, OutgoingMessage message)
    {
        lock (_sync)
        {
            var sendId = backplane.NodeName + ":" + (++_sends).ToString(CultureInfo.InvariantCulture);
            try
            {
                // Redis known to be away: wait on the node at once rather than in the Redis client for seconds.
                if (backplane.IsConnected && (_waiting.Count == 0 || Flush(append))) return AppendLocked(append, message, sendId);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogAppendWaits(backplane.Logger, e);
            }
            _waiting.Enqueue((message, sendId));
            while (_waiting.Count > backplane.Options.MaxStreamLength) _waiting.Dequeue(); // bounded: the oldest go first
            _appendAgain = append;
            return CometMessage.Sequenced(0, message);
        }
    }

    private Func<OutgoingMessage, string, long>? _appendAgain;

    /// <summary>Appends (throws if Redis did not answer), then receives everything up to it; the tail loop finishes that if Redis fails meanwhile.</summary>
    private CometMessage AppendLocked(Func<OutgoingMessage, string, long> append, OutgoingMessage message, string sendId)
    {
        var seq = append(message, sendId);
        var own = CometMessage.Sequenced(seq, message);
        if (seq <= _lastSeq) return own; // a retried send that this node received already
        try
        {
            CatchUp(seq - 1);
            if (seq > _lastSeq + 1) Receive(CometMessage.Hole(_lastSeq, seq - 1));
            Receive(own);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogTailFailed(backplane.Logger, e); // it is in the stream: the tail loop receives it, in order
        }
        return own;
    }

    /// <summary>Sends what waited for Redis, in order. Throws if Redis is still unreachable.</summary>
    private bool Flush(Func<OutgoingMessage, string, long> append)
    {
        while (_waiting.Count > 0)
        {
            var (message, sendId) = _waiting.Peek();
            AppendLocked(append, message, sendId);
            _waiting.Dequeue();
        }
        return true;
    }

    private void Run()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                bool more;
                lock (_sync)
                {
                    if (_waiting.Count > 0 && _appendAgain is { } append) Flush(append);
                    more = CatchUp(long.MaxValue);
                }
                if (!more) _wake.Wait(backplane.Options.PollInterval, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogTailFailed(backplane.Logger, e);
                _stop.Token.WaitHandle.WaitOne(500);
            }
            catch (Exception e)
            {
                LogTailFailed(backplane.Logger, e);
                _stop.Token.WaitHandle.WaitOne(500);
            }
        }
    }

    /// <summary>Receives the stream's entries after the last one received, up to <paramref name="upTo"/>. Returns true if it may have more.</summary>
    private bool CatchUp(long upTo)
    {
        var received = 0;
        while (_lastSeq < upTo)
        {
            var entries = backplane.Database.StreamRange(backplane.LogKey, "(" + Id(_lastSeq), upTo == long.MaxValue ? "+" : Id(upTo), 1000);
            if (entries.Length == 0) break;
            foreach (var entry in entries)
            {
                var seq = long.Parse(((string)entry.Id!).Split('-')[0], CultureInfo.InvariantCulture);
                var entryEpoch = (string?)entry["e"];
                if (entryEpoch is not null && entryEpoch != _epoch)
                {
                    // Redis lost its log and started a new one: whatever came after our last number is unknown.
                    _epoch = entryEpoch;
                    backplane.Epoch = entryEpoch;
                    Receive(CometMessage.Hole(_lastSeq, seq - 1));
                }
                else if (seq > _lastSeq + 1)
                {
                    Receive(CometMessage.Hole(_lastSeq, seq - 1)); // trimmed before this node read them
                }
                Receive(CometMessage.Sequenced(seq, MessageCodec.Decode((string)entry["p"]!)));
                received++;
            }
            if (entries.Length < 1000) break;
        }
        return received >= 1000;
    }

    private void Receive(CometMessage message)
    {
        _receiver!.Receive(message);
        Interlocked.Exchange(ref _lastSeq, message.Seq);
    }

    private static string Id(long seq) => seq.ToString(CultureInfo.InvariantCulture) + "-0";

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Comet4Net could not append to the shared stream in Redis; the message waits on this node and goes out, in order, when Redis answers")]
    private static partial void LogAppendWaits(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Comet4Net could not read the shared stream from Redis; this node serves what it holds and catches up when Redis answers")]
    private static partial void LogTailFailed(ILogger logger, Exception exception);

    public void Dispose()
    {
        _stop.Cancel();
        try { _loop?.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
    }
}
