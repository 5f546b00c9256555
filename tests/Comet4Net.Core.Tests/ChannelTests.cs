using Comet4Net.Events;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class ChannelTests
{
    private static CometContext Context()
    {
        var context = new CometContext();
        context.RegisterChannel("room", new ChannelOptions { HistoryCount = 3, Presence = true, AllowPublish = true });
        context.RegisterChannel("news");
        return context;
    }

    [TestMethod]
    public void A_subscribed_connection_receives_only_its_channels_from_its_subscription_on()
    {
        var context = Context();
        var engine = context.Engine;
        var c = TestSupport.Connect(engine);
        engine.SendToAll("news", "before");
        Assert.IsNotNull(engine.Subscribe(c, "room"));
        engine.SendToAll("news", "not subscribed");
        engine.SendToAll("room", "yes");
        var data = TestSupport.Read(engine, c, 0).Messages.Where(m => m.Event is null).Select(m => m.DataJson).ToArray();
        CollectionAssert.AreEqual(new[] { "\"yes\"" }, data);
        CollectionAssert.AreEqual(new[] { "room" }, c.SubscribedChannels!.ToArray());
        Assert.IsTrue(engine.Unsubscribe(c, "room"));
        Assert.IsFalse(engine.Unsubscribe(c, "room"));
    }

    [TestMethod]
    public void History_keeps_the_last_plain_messages_and_ends_where_live_delivery_starts()
    {
        var engine = Context().Engine;
        for (var i = 0; i < 5; i++) engine.SendToAll("room", i);
        engine.SendToAll("room", "typing", new { user = "x" }); // events stay out of history
        var c = TestSupport.Connect(engine);
        var history = engine.Subscribe(c, "room", 10)!;
        CollectionAssert.AreEqual(new[] { "2", "3", "4" }, history.Select(m => m.DataJson).ToArray());
        engine.SendToAll("room", 5);
        var live = TestSupport.Read(engine, c, 0).Messages.Where(m => m.Event is null).ToList();
        Assert.AreEqual("5", live.Single().DataJson);
        Assert.IsGreaterThan(history[^1].Seq, live[0].Seq);
    }

    [TestMethod]
    public void A_subscribe_listener_can_refuse()
    {
        var engine = Context().Engine;
        engine.On<SubscribeEvent>(e => e.Channel != "news");
        var c = TestSupport.Connect(engine);
        Assert.IsNull(engine.Subscribe(c, "news"));
        Assert.IsNotNull(engine.Subscribe(c, "room"));
    }

    [TestMethod]
    public void Publishing_is_refused_where_not_allowed_stamped_with_the_sender_and_counted()
    {
        var engine = Context().Engine;
        engine.On<BeforeConnectEvent>(e => { e.Connection!.UserId = "ann"; return true; });
        var sender = TestSupport.Connect(engine);
        var reader = TestSupport.Connect(engine);
        Assert.AreEqual(CometOutcome.NotAllowed, engine.Publish(sender, "news", null, new JValue(1)).Outcome);
        var result = engine.Publish(sender, "room", "say", JObject.Parse("{\"text\":\"hi\"}"));
        Assert.AreEqual(CometOutcome.Ok, result.Outcome);
        Assert.AreEqual(2, result.Delivered);
        var m = TestSupport.Read(engine, reader, 0).Messages.Single(x => x.Event == "say");
        Assert.AreEqual("ann", m.From);
    }

    [TestMethod]
    public void Presence_joins_and_leaves_are_events_on_the_channel()
    {
        var engine = Context().Engine;
        var watcher = TestSupport.Connect(engine);
        engine.Subscribe(watcher, "room");
        var other = TestSupport.Connect(engine);
        engine.Subscribe(other, "room");
        engine.Drop(other);
        var events = TestSupport.Read(engine, watcher, 0).Messages.Select(m => m.Event).ToArray();
        CollectionAssert.AreEqual(new[] { "join", "join", "leave" }, events);
        Assert.AreEqual((1, 0), engine.GetChannelCounts("room"));
    }

    [TestMethod]
    public void Channel_members_are_the_connections_that_receive_it_with_their_users()
    {
        var engine = Context().Engine;
        var everything = TestSupport.Connect(engine); // named no channel: receives every channel
        everything.UserId = "ann";
        var room = TestSupport.Connect(engine, ip: "10.0.0.2");
        Assert.IsNotNull(engine.Subscribe(room, "room"));
        room.UserId = "bob";
        var news = TestSupport.Connect(engine, ip: "10.0.0.3");
        Assert.IsNotNull(engine.Subscribe(news, "news"));

        var members = engine.GetChannelMembers("room").OrderBy(m => m.UserId).ToArray();
        CollectionAssert.AreEqual(new[] { new Backplane.ChannelMember(everything.Id, "ann"), new Backplane.ChannelMember(room.Id, "bob") }, members);
        Assert.AreEqual(members.Length, engine.GetChannelCounts("room").Connections, "members are what the count counts");
        Assert.IsTrue(engine.Drop(room));
        CollectionAssert.AreEqual(new[] { everything.Id }, engine.GetChannelMembers("room").Select(m => m.ConnectionId).ToArray());
        Assert.ThrowsExactly<ArgumentException>(() => engine.GetChannelMembers("bad name!"));
    }
}
