using Comet4Net.Channels;

namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class ChannelStartsTests
{
    [TestMethod]
    public void Set_adds_or_replaces_and_never_changes_the_set_it_was_made_from()
    {
        var a = ChannelStarts.Empty.Set("news", 5);
        var b = a.Set("chat", 7);
        var c = b.Set("news", 9);
        Assert.AreEqual(1, a.Count);
        Assert.AreEqual(5, a["news"]);
        Assert.IsFalse(a.ContainsKey("chat"));
        Assert.AreEqual(2, b.Count);
        Assert.AreEqual(5, b["news"]);
        Assert.AreEqual(9, c["news"]);
        Assert.AreEqual(7, c["chat"]);
        Assert.AreSame(c, c.Set("chat", 7), "setting the same start again makes no new set");
        Assert.AreEqual(0, ChannelStarts.Empty.Count);
    }

    [TestMethod]
    public void Without_removes_one_channel_and_an_emptied_set_still_means_no_channel()
    {
        var set = ChannelStarts.From([new("a", 1), new("b", 2), new("c", 3)]);
        var without = set.Without("b");
        CollectionAssert.AreEqual(new[] { "a", "c" }, without.Keys.ToArray());
        Assert.AreEqual(3, without["c"]);
        Assert.AreSame(set, set.Without("zzz"));
        var empty = without.Without("a").Without("c");
        Assert.IsNotNull(empty);
        Assert.AreEqual(0, empty.Count);
        Assert.IsFalse(empty.TryGetValue("a", out _));
    }

    [TestMethod]
    public void A_large_set_finds_every_channel_by_its_index()
    {
        var set = ChannelStarts.From(Enumerable.Range(0, 40).Select(i => KeyValuePair.Create("ch" + i, (long)i)));
        Assert.AreEqual(40, set.Count);
        for (var i = 0; i < 40; i++) Assert.AreEqual(i, set["ch" + i]);
        var smaller = set.Without("ch20").Set("ch3", 100);
        Assert.AreEqual(39, smaller.Count);
        Assert.IsFalse(smaller.ContainsKey("ch20"));
        Assert.AreEqual(100, smaller["ch3"]);
        Assert.AreEqual(39, smaller["ch39"]);
        Assert.ThrowsExactly<KeyNotFoundException>(() => _ = smaller["ch20"]);
    }

    [TestMethod]
    public void From_keeps_the_last_start_of_a_channel_named_twice()
    {
        var set = ChannelStarts.From([new("a", 1), new("a", 4)]);
        Assert.AreEqual(1, set.Count);
        Assert.AreEqual(4, set["a"]);
        Assert.AreEqual(new Dictionary<string, long> { ["a"] = 4 }.Single(), set.Single());
    }
}
