using Comet4Net.Channels;

namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class ChannelCountsTests
{
    [TestMethod]
    public void Counts_follow_joins_and_leaves_without_recounting()
    {
        var counts = new ChannelCounts();
        Assert.IsTrue(counts.Join("room", "c1", "ann"));
        Assert.IsFalse(counts.Join("room", "c1", "ann"), "a connection joins once");
        counts.Join("room", "c2", "ann");
        counts.Join("room", "c3", null);
        Assert.AreEqual(new Backplane.ChannelCount(3, 1), counts.Count("room", includeEveryChannel: false));
        Assert.IsTrue(counts.Leave("room", "c1", "ann"));
        Assert.IsFalse(counts.Leave("room", "c1", "ann"));
        Assert.AreEqual(new Backplane.ChannelCount(2, 1), counts.Count("room", false));
        counts.Leave("room", "c2", "ann");
        Assert.AreEqual(new Backplane.ChannelCount(1, 0), counts.Count("room", false));
    }

    [TestMethod]
    public void Connections_on_every_channel_count_once_per_user_across_both_sets()
    {
        var counts = new ChannelCounts();
        counts.Join("room", "c1", "ann");
        counts.Join(ChannelCounts.EveryChannel, "c2", "ann");
        counts.Join(ChannelCounts.EveryChannel, "c3", "bob");
        Assert.AreEqual(new Backplane.ChannelCount(3, 2), counts.Count("room", includeEveryChannel: true));
        Assert.AreEqual(new Backplane.ChannelCount(1, 1), counts.Count("room", includeEveryChannel: false));
        Assert.AreEqual(new Backplane.ChannelCount(2, 2), counts.Count("other", includeEveryChannel: true));
    }
}
