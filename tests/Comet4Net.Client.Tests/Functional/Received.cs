using System.Text.Json;

namespace Comet4Net.Client.Tests.Functional;

/// <summary>Numbered messages as they arrive: how many, which twice, which out of order.</summary>
internal sealed class Received
{
    private readonly List<int> _values = [];
    private readonly HashSet<int> _seen = [];

    internal int Duplicates { get; private set; }

    internal int Reordered { get; private set; }

    internal int Count
    {
        get { lock (_values) return _values.Count; }
    }

    internal int[] Values
    {
        get { lock (_values) return [.. _values]; }
    }

    internal void Add(int n)
    {
        lock (_values)
        {
            if (!_seen.Add(n)) Duplicates++;
            if (_values.Count > 0 && n < _values[^1]) Reordered++;
            _values.Add(n);
        }
    }

    /// <summary>A line of the console sample's stdout: the data, <c>{"n":…}</c>.</summary>
    internal void AddLine(string line)
    {
        using var doc = JsonDocument.Parse(line);
        Add(doc.RootElement.GetProperty("n").GetInt32());
    }

    internal string Summary(int sent) => $"sent {sent}, received {Count}, distinct {_seen.Count}, duplicates {Duplicates}, out of order {Reordered}";

    /// <summary>Exactly 1..<paramref name="sent"/>, once each, in order.</summary>
    internal void AssertExactlyOnceInOrder(int sent, string what)
    {
        Assert.AreEqual(0, Duplicates, what + ": duplicates");
        Assert.AreEqual(0, Reordered, what + ": out of order");
        CollectionAssert.AreEqual(Enumerable.Range(1, sent).ToArray(), Values, what + ": " + Summary(sent));
    }
}
