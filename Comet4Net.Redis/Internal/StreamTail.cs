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

    /// <summary>Runs <paramref name="append"/> (the script, which returns the new number) and receives everything up to it, in order.</summary>
    internal CometMessage Append(Func<long> append, OutgoingMessage message)
    {
        lock (_sync)
        {
            var seq = append();
            CatchUp(seq - 1);
            var own = CometMessage.Sequenced(seq, message);
            if (seq > _lastSeq + 1) Receive(CometMessage.Hole(_lastSeq, seq - 1));
            Receive(own);
            return own;
        }
    }

    private void Run()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                bool more;
                lock (_sync) more = CatchUp(long.MaxValue);
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

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Comet4Net could not read the shared stream from Redis; this node serves what it holds and catches up when Redis answers")]
    private static partial void LogTailFailed(ILogger logger, Exception exception);

    public void Dispose()
    {
        _stop.Cancel();
        try { _loop?.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
    }
}
