using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Comet4Net.Web.Internal;

/// <summary>
/// A read-only dictionary over one array of name/value pairs, searched in order: what a connection
/// keeps of its <c>conn</c> request (a few parameters, headers, cookies) for its whole life costs
/// the array and its strings, about half of a <see cref="Dictionary{TKey,TValue}"/>.
/// </summary>
internal sealed class PairDictionary : IReadOnlyDictionary<string, string>
{
    private readonly KeyValuePair<string, string>[] _pairs;
    private readonly StringComparison _comparison;

    internal static readonly PairDictionary Empty = new([], StringComparison.Ordinal);

    /// <summary>The pairs as given, a name given twice kept once (its first value).</summary>
    internal PairDictionary(IEnumerable<KeyValuePair<string, string>> pairs, StringComparison comparison)
    {
        _comparison = comparison;
        var list = new List<KeyValuePair<string, string>>();
        foreach (var pair in pairs)
        {
            if (!Contains(list, pair.Key, comparison)) list.Add(pair);
        }
        _pairs = list.ToArray();
    }

    private static bool Contains(List<KeyValuePair<string, string>> list, string key, StringComparison comparison)
    {
        foreach (var (k, _) in list)
        {
            if (string.Equals(k, key, comparison)) return true;
        }
        return false;
    }

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
    {
        foreach (var (k, v) in _pairs)
        {
            if (string.Equals(k, key, _comparison))
            {
                value = v;
                return true;
            }
        }
        value = null;
        return false;
    }

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public string this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException(key);

    public int Count => _pairs.Length;

    public IEnumerable<string> Keys => _pairs.Select(p => p.Key);

    public IEnumerable<string> Values => _pairs.Select(p => p.Value);

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, string>>)_pairs).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
