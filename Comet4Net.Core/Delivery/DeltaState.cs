namespace Comet4Net.Delivery;

/// <summary>
/// What a connection that asked for deltas (<c>delta=fossil</c>, v2) is known to hold: for each delta
/// channel, the number of the last message of the channel's chain written to it. A message goes out as
/// a delta only when that number is its base, the client having confirmed it (its <c>ack</c>) when the
/// request began or received it earlier on the same answer; otherwise it goes out whole (<c>"d":0</c>).
/// A pair per delta channel received: no data is kept per connection.
/// </summary>
internal sealed class DeltaState
{
    private string[] _channels = []; // grown on the first delta channel: a connection that got none holds no array
    private long[] _seqs = [];
    private int _count;

    /// <summary>The state of a connection whose <c>conn</c> (or the revival it was resumed by, on another node) asked for Fossil deltas; null otherwise.</summary>
    internal static DeltaState? For(CometDialect dialect, ICometRequest request) =>
        dialect == CometDialect.V2 && request.Query(CometProtocol.DeltaParameter) == CometProtocol.DeltaFossil ? new DeltaState() : null;

    /// <summary>
    /// Replaces the messages of delta chains in <paramref name="batch"/> (from <paramref name="start"/>) by
    /// their delta or full form, in order; after a <paramref name="gap"/> nothing is known to be held.
    /// </summary>
    internal void Choose(List<CometMessage> batch, int start, bool gap)
    {
        lock (this)
        {
            if (gap) _count = 0;
            for (var i = start; i < batch.Count; i++)
            {
                var m = batch[i];
                if (m.DeltaBaseSeq < 0) continue;
                var k = Array.IndexOf(_channels, m.Channel, 0, _count);
                var held = k >= 0 ? _seqs[k] : -1;
                batch[i] = held == m.DeltaBaseSeq && m.DeltaBaseSeq > 0 && m.DeltaForm is { } delta ? delta : m.FullForm;
                if (k < 0) k = Add(m.Channel);
                _seqs[k] = m.Seq;
            }
        }
    }

    /// <summary>A request begins after <paramref name="ack"/>: what was written past it is not known to have arrived.</summary>
    internal void Resume(long ack)
    {
        lock (this)
        {
            for (var k = _count - 1; k >= 0; k--)
            {
                if (_seqs[k] <= ack) continue;
                _count--;
                _channels[k] = _channels[_count];
                _seqs[k] = _seqs[_count];
                _channels[_count] = null!;
            }
        }
    }

    /// <summary>A gap: the client starts over, every channel whole.</summary>
    internal void Reset()
    {
        lock (this)
        {
            Array.Clear(_channels);
            _count = 0;
        }
    }

    private int Add(string channel)
    {
        if (_count == _channels.Length)
        {
            Array.Resize(ref _channels, Math.Max(2, _count * 2));
            Array.Resize(ref _seqs, Math.Max(2, _count * 2));
        }
        _channels[_count] = channel;
        return _count++;
    }
}
