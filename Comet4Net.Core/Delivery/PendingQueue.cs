namespace Comet4Net.Delivery;

/// <summary>
/// The messages sent to one connection alone, kept until the client has them (legacy: written;
/// v2: acknowledged) or a limit drops them; what a limit drops is remembered as a gap.
/// </summary>
internal sealed class PendingQueue
{
    // Most connections never get a message of their own: they share this empty list (never added to)
    // until their first. The queue locks itself (internal; nothing else locks it).
    private static readonly List<CometMessage> None = [];
    private List<CometMessage> _items = None;
    private long _bytes;
    private long _droppedThroughSeq;

    internal int Count { get { lock (this) return _items.Count; } }

    internal long Bytes { get { lock (this) return _bytes; } }

    /// <summary>Highest sequence number dropped without being delivered.</summary>
    internal long DroppedThroughSeq { get { lock (this) return _droppedThroughSeq; } }

    /// <summary>
    /// Adds a message in sequence order (readers take the queue in order); a message already queued is
    /// not added twice. Returns how many old ones the limits pushed out.
    /// </summary>
    /// <remarks>
    /// Messages usually come in order and go at the end. Not always: a connection resumed on this node
    /// is refilled from the node's log of private messages while newer ones may already be filed for it
    /// by the log's receiver, so a refilled message can come after a newer one, or twice.
    /// </remarks>
    internal int Add(CometMessage message, int maxCount, long maxBytes)
    {
        var dropped = 0;
        lock (this)
        {
            var at = _items.Count;
            if (at > 0 && _items[at - 1].Seq >= message.Seq)
            {
                at = _items.BinarySearch(message, BySeq.Instance);
                if (at >= 0) return 0; // already queued
                at = ~at;
            }
            if (ReferenceEquals(_items, None)) _items = new List<CometMessage>(4);
            _items.Insert(at, message);
            _bytes += message.Size;
            while (_items.Count > 0 && (_items.Count > maxCount || _bytes > maxBytes))
            {
                DropFirst();
                dropped++;
            }
        }
        return dropped;
    }

    private sealed class BySeq : IComparer<CometMessage>
    {
        internal static readonly BySeq Instance = new();

        public int Compare(CometMessage? x, CometMessage? y) => x!.Seq.CompareTo(y!.Seq);
    }

    private void DropFirst()
    {
        var first = _items[0];
        _items.RemoveAt(0);
        _bytes -= first.Size;
        if (first.Seq > _droppedThroughSeq) _droppedThroughSeq = first.Seq;
    }

    /// <summary>Records that messages numbered up to <paramref name="seq"/> that were meant for the connection may be lost.</summary>
    internal void MarkDroppedThrough(long seq)
    {
        lock (this)
        {
            if (seq > _droppedThroughSeq) _droppedThroughSeq = seq;
        }
    }

    /// <summary>Forgets messages the client has (sequence number at most <paramref name="seq"/>).</summary>
    internal void RemoveThrough(long seq)
    {
        lock (this)
        {
            var n = 0;
            while (n < _items.Count && _items[n].Seq <= seq)
            {
                _bytes -= _items[n].Size;
                n++;
            }
            if (n > 0) _items.RemoveRange(0, n);
        }
    }

    /// <summary>Drops messages sent before <paramref name="olderThan"/>; returns how many.</summary>
    internal int TrimOlderThan(long olderThan)
    {
        var dropped = 0;
        lock (this)
        {
            while (_items.Count > 0 && _items[0].Time < olderThan)
            {
                DropFirst();
                dropped++;
            }
        }
        return dropped;
    }

    /// <summary>Copies the messages with <paramref name="after"/> &lt; seq &lt;= <paramref name="upTo"/>.</summary>
    internal void CopyRange(long after, long upTo, List<CometMessage> into)
    {
        lock (this)
        {
            foreach (var m in _items)
            {
                if (m.Seq <= after) continue;
                if (m.Seq > upTo) break;
                into.Add(m);
            }
        }
    }

    internal void Clear()
    {
        lock (this)
        {
            if (_items.Count > 0) _items.Clear();
            _bytes = 0;
        }
    }
}
