using Comet4Net.Delivery;

namespace Comet4Net.Channels;

/// <summary>
/// The last broadcasts of channels registered with history, under a lock of its own. It also
/// remembers the last broadcast it was shown, so that a subscription can start exactly after the
/// history it returns (no gap, no duplicate).
/// </summary>
internal sealed class ChannelHistory(CometContext context, TimeProvider time)
{
    private readonly Dictionary<string, Queue<CometMessage>> _channels = new(StringComparer.Ordinal);
    private long _lastSeq;

    /// <summary>Shows the history a broadcast (every broadcast, in sequence order); it keeps the ones its channel wants.</summary>
    internal void Offer(CometMessage message)
    {
        var options = context.GetChannelOptions(message.Channel);
        lock (_channels)
        {
            _lastSeq = message.Seq;
            if (options is not { HistoryCount: > 0 } || (message.Event is not null && !options.HistoryIncludesEvents)) return;
            if (!_channels.TryGetValue(message.Channel, out var queue)) _channels[message.Channel] = queue = new Queue<CometMessage>();
            queue.Enqueue(message);
            while (queue.Count > options.HistoryCount) queue.Dequeue();
        }
    }

    /// <summary>
    /// Runs <paramref name="start"/> with the number of the last broadcast seen, and returns up to
    /// <paramref name="max"/> kept messages numbered at most that: what came before a subscription that starts there.
    /// </summary>
    internal List<CometMessage> Snapshot(string channel, int max, Func<long, long> start)
    {
        lock (_channels)
        {
            var upTo = start(_lastSeq);
            return Kept(channel, max, upTo);
        }
    }

    /// <summary>Up to <paramref name="max"/> of a channel's kept messages, oldest first.</summary>
    internal List<CometMessage> Get(string channel, int max)
    {
        lock (_channels) return Kept(channel, max, long.MaxValue);
    }

    internal int Clear(string channel)
    {
        lock (_channels) return _channels.Remove(channel, out var queue) ? queue.Count : 0;
    }

    /// <summary>Forgets messages older than their channel's HistoryAge.</summary>
    internal void Trim()
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_channels)
        {
            foreach (var (channel, queue) in _channels)
            {
                if (context.GetChannelOptions(channel)?.HistoryAge is not { } age) continue;
                var oldest = now - (long)age.TotalMilliseconds;
                while (queue.Count > 0 && queue.Peek().Time < oldest) queue.Dequeue();
            }
        }
    }

    private List<CometMessage> Kept(string channel, int max, long upToSeq)
    {
        if (max <= 0 || !_channels.TryGetValue(channel, out var queue)) return [];
        var age = context.GetChannelOptions(channel)?.HistoryAge;
        var oldest = age is { } a ? time.GetUtcNow().ToUnixTimeMilliseconds() - (long)a.TotalMilliseconds : long.MinValue;
        var kept = queue.Where(m => m.Time >= oldest && m.Seq <= upToSeq).ToList();
        return kept.Count > max ? kept.GetRange(kept.Count - max, max) : kept;
    }
}
