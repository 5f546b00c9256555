namespace Comet4Net.Delivery;

/// <summary>
/// This node's copy of the shared, bounded log of broadcast messages. The backplane hands it
/// messages in sequence order (one writer at a time); readers never lock: entries are immutable
/// once published, and a reader that asks for a position already trimmed is told so (a gap).
/// </summary>
/// <remarks>
/// Positions are indexes into the log since it was created (not sequence numbers: private
/// messages take numbers too). Entries live in fixed-size chunks so trimming frees whole chunks.
/// </remarks>
internal sealed class MessageLog
{
    private const int ChunkBits = 10;
    private const int ChunkSize = 1 << ChunkBits;
    private const int ChunkMask = ChunkSize - 1;

    private readonly object _sync = new();
    private ChunkTable _table = new(new CometMessage?[]?[16], 0);
    private long _published; // positions [0, _published) are written
    private long _first;     // positions below are trimmed
    private long _visibleSeq; // every message with seq <= this is in the log or its connection's queue
    private long _trimmedThroughSeq; // highest seq trimmed from the log
    private long _bytes;

    internal long Count => Volatile.Read(ref _published) - Volatile.Read(ref _first);

    internal long Bytes => Interlocked.Read(ref _bytes);

    internal long Published => Volatile.Read(ref _published);

    internal long First => Volatile.Read(ref _first);

    /// <summary>The highest sequence number this node has seen (broadcast or private).</summary>
    internal long LastSeq => Volatile.Read(ref _visibleSeq);

    internal long TrimmedThroughSeq => Volatile.Read(ref _trimmedThroughSeq);

    /// <summary>
    /// Starts an empty log after <paramref name="seq"/>: every number up to it counts as no longer
    /// held, so a reader asking for an older position (another epoch's) is told of a gap.
    /// </summary>
    internal void Begin(long seq)
    {
        lock (_sync)
        {
            if (_published != _first) throw new InvalidOperationException("The log already holds messages.");
            Volatile.Write(ref _visibleSeq, seq);
            Volatile.Write(ref _trimmedThroughSeq, seq);
        }
    }

    /// <summary>
    /// Makes everything up to <paramref name="seq"/> visible: every message numbered at most that is
    /// in the log or in its connection's queue. Called in sequence order by the delivery.
    /// </summary>
    internal void Publish(long seq)
    {
        if (seq > Volatile.Read(ref _visibleSeq)) Volatile.Write(ref _visibleSeq, seq);
    }

    /// <summary>Appends a broadcast, before <see cref="Publish"/> makes it visible.</summary>
    internal void Append(CometMessage message)
    {
        lock (_sync) AppendLocked(message);
    }

    private void AppendLocked(CometMessage message)
    {
        var pos = _published;
        var table = _table;
        var chunkIndex = (pos >> ChunkBits) - table.Base;
        if (chunkIndex >= table.Chunks.Length)
        {
            // Grow the outer array (copy-on-write: readers keep using the old table safely).
            var grown = new CometMessage?[]?[Math.Max(table.Chunks.Length * 2, (int)chunkIndex + 1)];
            Array.Copy(table.Chunks, grown, table.Chunks.Length);
            table = new ChunkTable(grown, table.Base);
            Volatile.Write(ref _table, table);
        }
        var chunks = table.Chunks;
        var chunk = chunks[chunkIndex];
        if (chunk is null)
        {
            chunk = new CometMessage?[ChunkSize];
            chunks[chunkIndex] = chunk;
        }
        chunk[pos & ChunkMask] = message;
        Interlocked.Add(ref _bytes, message.Size);
        Volatile.Write(ref _published, pos + 1);
    }

    /// <summary>The entry at a position, or null if it is trimmed or not yet published.</summary>
    internal CometMessage? At(long position)
    {
        if (position < Volatile.Read(ref _first) || position >= Volatile.Read(ref _published)) return null;
        var table = Volatile.Read(ref _table);
        var index = (position >> ChunkBits) - table.Base;
        if (index < 0 || index >= table.Chunks.Length) return null;
        var chunk = table.Chunks[index];
        return chunk?[position & ChunkMask];
    }

    /// <summary>The first position whose message has a sequence number above <paramref name="seq"/>.</summary>
    internal long PositionAfter(long seq)
    {
        long lo = Volatile.Read(ref _first), hi = Volatile.Read(ref _published);
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) >> 1);
            var m = At(mid);
            if (m is null)
            {
                // Trimmed under our feet: everything below the new first is gone.
                var first = Volatile.Read(ref _first);
                if (mid < first) { lo = first; continue; }
                hi = mid;
                continue;
            }
            if (m.Seq <= seq) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>
    /// Removes messages older than <paramref name="olderThan"/> (ms since 1970) and any beyond the
    /// count and byte limits. Returns how many were removed.
    /// </summary>
    internal int Trim(long olderThan, int maxCount, long maxBytes)
    {
        var removed = 0;
        lock (_sync)
        {
            while (_first < _published)
            {
                var m = At(_first)!;
                var over = _published - _first > maxCount || Interlocked.Read(ref _bytes) > maxBytes;
                if (!over && m.Time >= olderThan) break;
                Interlocked.Add(ref _bytes, -m.Size);
                Volatile.Write(ref _trimmedThroughSeq, m.Seq);
                Volatile.Write(ref _first, _first + 1);
                removed++;
            }
            // Free whole chunks below _first.
            var table = _table;
            var firstChunk = _first >> ChunkBits;
            var drop = firstChunk - table.Base;
            if (drop > 0)
            {
                var remaining = table.Chunks.Length - (int)drop;
                var fresh = new CometMessage?[]?[Math.Max(16, remaining)];
                Array.Copy(table.Chunks, (int)drop, fresh, 0, remaining);
                // The array and its base change together: a reader holding the old table still
                // finds the same chunk objects at the same positions.
                Volatile.Write(ref _table, new ChunkTable(fresh, firstChunk));
            }
        }
        return removed;
    }

    private sealed record ChunkTable(CometMessage?[]?[] Chunks, long Base);
}
