namespace Comet4Net.Delivery;

/// <summary>
/// The idempotency keys of this node's recent keyed publishes: a key seen within the window stands for
/// its publish (its number, or the publish still on its way), so that a second publish with it is not
/// appended again. Bounded: an entry goes when the window has passed, and past the most entries the
/// oldest go first (counted in <see cref="Evicted"/>). One short lock; nothing waits under it.
/// </summary>
internal sealed class IdempotencyWindow(Func<long> nowMs, long windowMs, int maxEntries)
{
    private readonly object _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Queue<Entry> _order = new(); // in the order taken, so also in the order they expire

    /// <summary>One key's publish: its number once appended (0: it was not, and the key is free again).</summary>
    internal sealed class Entry(string key, long expires)
    {
        internal string Key { get; } = key;
        internal long Expires { get; } = expires;
        internal TaskCompletionSource<long> Seq { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Keys let go before their window passed because the window was full.</summary>
    internal long Evicted { get; private set; }

    /// <summary>Keys held now.</summary>
    internal int Count
    {
        get { lock (_lock) return _entries.Count; }
    }

    /// <summary>
    /// True: the key is this caller's (a new <paramref name="entry"/> that it must <see cref="Complete"/> or
    /// <see cref="Release"/>). False: another publish holds it within the window; <paramref name="entry"/> is that one's.
    /// </summary>
    internal bool TryTake(string key, out Entry entry)
    {
        var now = nowMs();
        lock (_lock)
        {
            while (_order.TryPeek(out var oldest) && oldest.Expires <= now) Forget(_order.Dequeue());
            if (_entries.TryGetValue(key, out var held))
            {
                entry = held;
                return false;
            }
            entry = new Entry(key, now + windowMs);
            _entries[key] = entry;
            _order.Enqueue(entry);
            while (_order.Count > maxEntries)
            {
                if (Forget(_order.Dequeue())) Evicted++;
            }
            return true;
        }
    }

    /// <summary>The publish was numbered (a number above 0); 0: it was not, and the key is free again.</summary>
    internal void Complete(Entry entry, long seq)
    {
        if (seq <= 0) Release(entry);
        else entry.Seq.TrySetResult(seq);
    }

    /// <summary>The publish was refused or failed: the key is free again, and whoever waited on it tries for itself.</summary>
    internal void Release(Entry entry)
    {
        lock (_lock) Forget(entry);
        entry.Seq.TrySetResult(0);
    }

    /// <summary>Removes the entry if it is still the one for its key. Under the lock.</summary>
    private bool Forget(Entry entry) =>
        _entries.TryGetValue(entry.Key, out var current) && ReferenceEquals(current, entry) && _entries.Remove(entry.Key);
}
