using System.Collections;

namespace Comet4Net.Channels;

/// <summary>
/// The channels a connection listens on, each with the sequence number its subscription starts
/// after. Immutable: a change makes a new set that replaces the old one under the connection's
/// lock, so every broadcast reads it without a lock. Two arrays, searched in order (a connection
/// listens on a few channels), cost about a hundred bytes where a concurrent dictionary cost
/// about five hundred per idle connection; a set of many channels gets an index once.
/// </summary>
internal sealed class ChannelStarts : IReadOnlyDictionary<string, long>
{
    private const int IndexFrom = 12;
    private readonly string[] _channels;
    private readonly long[] _starts;
    private readonly Dictionary<string, int>? _index;

    /// <summary>Listens on no channel (not the same as null, which means every channel).</summary>
    internal static readonly ChannelStarts Empty = new([], []);

    private ChannelStarts(string[] channels, long[] starts)
    {
        _channels = channels;
        _starts = starts;
        if (channels.Length < IndexFrom) return;
        _index = new Dictionary<string, int>(channels.Length, StringComparer.Ordinal);
        for (var i = 0; i < channels.Length; i++) _index[channels[i]] = i;
    }

    /// <summary>A set of these channels (a channel named twice keeps its last start).</summary>
    internal static ChannelStarts From(IEnumerable<KeyValuePair<string, long>> entries)
    {
        var set = Empty;
        foreach (var (channel, start) in entries) set = set.Set(channel, start);
        return set;
    }

    /// <summary>This set with <paramref name="channel"/> starting after <paramref name="start"/> (added, or its start replaced).</summary>
    internal ChannelStarts Set(string channel, long start)
    {
        var i = IndexOf(channel);
        if (i >= 0)
        {
            if (_starts[i] == start) return this;
            var starts = (long[])_starts.Clone();
            starts[i] = start;
            return new ChannelStarts(_channels, starts);
        }
        var channels = new string[_channels.Length + 1];
        var newStarts = new long[_starts.Length + 1];
        _channels.CopyTo(channels, 0);
        _starts.CopyTo(newStarts, 0);
        channels[^1] = channel;
        newStarts[^1] = start;
        return new ChannelStarts(channels, newStarts);
    }

    /// <summary>This set without <paramref name="channel"/> (this set itself if it did not hold it).</summary>
    internal ChannelStarts Without(string channel)
    {
        var i = IndexOf(channel);
        if (i < 0) return this;
        if (_channels.Length == 1) return Empty;
        var channels = new string[_channels.Length - 1];
        var starts = new long[_starts.Length - 1];
        for (int from = 0, to = 0; from < _channels.Length; from++)
        {
            if (from == i) continue;
            channels[to] = _channels[from];
            starts[to++] = _starts[from];
        }
        return new ChannelStarts(channels, starts);
    }

    private int IndexOf(string channel)
    {
        if (_index is not null) return _index.TryGetValue(channel, out var at) ? at : -1;
        var channels = _channels;
        for (var i = 0; i < channels.Length; i++)
        {
            if (string.Equals(channels[i], channel, StringComparison.Ordinal)) return i;
        }
        return -1;
    }

    public bool TryGetValue(string key, out long value)
    {
        var i = IndexOf(key);
        value = i >= 0 ? _starts[i] : 0;
        return i >= 0;
    }

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public long this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException(key);

    public int Count => _channels.Length;

    public IEnumerable<string> Keys => _channels;

    public IEnumerable<long> Values => _starts;

    public IEnumerator<KeyValuePair<string, long>> GetEnumerator()
    {
        for (var i = 0; i < _channels.Length; i++) yield return new KeyValuePair<string, long>(_channels[i], _starts[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
