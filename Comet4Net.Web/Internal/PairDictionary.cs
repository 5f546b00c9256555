using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Comet4Net.Web.Internal;

/// <summary>
/// A read-only dictionary over a slice of one array of names and values (name, value, name, value…),
/// searched in order: what a connection keeps of its <c>conn</c> request (a few parameters and headers)
/// for its whole life is that one array and its strings. The view itself is made when asked for.
/// </summary>
internal sealed class PairDictionary(string[] items, int start, int end, StringComparison comparison) : IReadOnlyDictionary<string, string>
{
    /// <summary>Names and values as one array, a name given twice kept once (its first value); <paramref name="prefix"/> pairs go first.</summary>
    internal static string[] Flatten(IEnumerable<KeyValuePair<string, string>> prefix, StringComparison prefixComparison,
        IReadOnlyList<KeyValuePair<string, string>> rest, StringComparison restComparison, out int restAt)
    {
        var list = new List<string>();
        foreach (var (name, value) in prefix) Add(list, 0, name, value, prefixComparison);
        restAt = list.Count;
        foreach (var (name, value) in rest) Add(list, restAt, name, value, restComparison);
        return list.ToArray();
    }

    private static void Add(List<string> list, int from, string name, string value, StringComparison comparison)
    {
        for (var i = from; i < list.Count; i += 2)
        {
            if (string.Equals(list[i], name, comparison)) return;
        }
        list.Add(name);
        list.Add(value);
    }

    /// <summary>The value of <paramref name="key"/> in <paramref name="items"/>[<paramref name="start"/>..<paramref name="end"/>).</summary>
    internal static bool TryFind(string[] items, int start, int end, string key, StringComparison comparison, [MaybeNullWhen(false)] out string value)
    {
        for (var i = start; i < end; i += 2)
        {
            if (string.Equals(items[i], key, comparison))
            {
                value = items[i + 1];
                return true;
            }
        }
        value = null;
        return false;
    }

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value) => TryFind(items, start, end, key, comparison, out value);

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public string this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException(key);

    public int Count => (end - start) / 2;

    public IEnumerable<string> Keys => this.Select(p => p.Key);

    public IEnumerable<string> Values => this.Select(p => p.Value);

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        for (var i = start; i < end; i += 2) yield return KeyValuePair.Create(items[i], items[i + 1]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
