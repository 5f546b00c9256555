namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class ContextTests
{
    [TestMethod]
    public void RegisterChannel_lists_channels_in_order_and_rejects_duplicates()
    {
        var context = new CometContext();
        context.RegisterChannel("hello");
        context.RegisterChannel("talker");
        CollectionAssert.AreEqual(new[] { "hello", "talker" }, context.Channels.ToArray());
        var e = Assert.ThrowsExactly<DuplicateChannelException>(() => context.RegisterChannel("hello"));
        Assert.AreEqual("hello", e.Channel);
    }

    [TestMethod]
    [DataRow("")]
    [DataRow("has space")]
    [DataRow("c4j")]
    [DataRow("<script>")]
    public void RegisterChannel_rejects_bad_names(string name)
    {
        var context = new CometContext();
        Assert.ThrowsExactly<ArgumentException>(() => context.RegisterChannel(name));
        Assert.IsEmpty(context.Channels);
    }

    [TestMethod]
    public void RegisterChannel_rejects_names_longer_than_64()
    {
        var context = new CometContext();
        context.RegisterChannel(new string('a', 64));
        Assert.ThrowsExactly<ArgumentException>(() => context.RegisterChannel(new string('b', 65)));
    }

    [TestMethod]
    public void Contexts_are_independent_and_Instance_is_the_one_made_instance()
    {
        var a = new CometContext();
        var b = new CometContext();
        a.RegisterChannel("x");
        Assert.IsEmpty(b.Channels);
        Assert.AreNotSame(a.Engine, b.Engine);
        b.MakeInstance();
        Assert.AreSame(b, CometContext.Instance);
        Assert.AreSame(b.Engine, CometContext.GetInstance().GetEngine());
    }

    [TestMethod]
    public void Version_is_reported()
    {
        Assert.StartsWith("2.", new CometContext().Version);
    }
}
