using Comet4Net.Events;
using Comet4Net.Listeners;

namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class EngineEventTests
{
    private sealed class JoinListener : ConnectListener
    {
        public List<string> Seen { get; } = new();

        public override bool HandleEvent(ConnectEvent e)
        {
            Seen.Add(e.Conn!.Id);
            e.GetTarget().SendTo("hello", e.Conn!.Id, "welcome");
            return true;
        }
    }

    [TestMethod]
    public void A_ported_ConnectListener_runs_and_can_send_to_the_new_connection()
    {
        var context = new CometContext();
        var join = new JoinListener();
        context.Engine.AddConnectListener(join);
        var c = TestSupport.Connect(context.Engine);
        CollectionAssert.AreEqual(new[] { c.Id }, join.Seen);
        var (messages, gap) = TestSupport.Read(context.Engine, c, 0);
        Assert.IsNull(gap);
        Assert.HasCount(1, messages);
        Assert.AreEqual("\"welcome\"", messages[0].DataJson);

        context.Engine.RemoveConnectListener(join);
        TestSupport.Connect(context.Engine);
        Assert.HasCount(1, join.Seen);
    }

    [TestMethod]
    public void BeforeConnect_can_refuse_with_a_status_and_reason()
    {
        var engine = new CometContext().Engine;
        engine.On<BeforeConnectEvent>(e =>
        {
            if (e.Request.Cookie("token") != "ok") e.Refuse(401, "log in first");
            return true;
        });
        var refused = engine.Connect(TestSupport.Request(), CometDialect.V2, CometWorkStyle.Stream, "2.0.0");
        Assert.IsNull(refused.Connection);
        Assert.AreEqual(CometOutcome.Refused, refused.Outcome);
        Assert.AreEqual(401, refused.ListenerStatus);
        Assert.AreEqual("log in first", refused.Message);
        Assert.AreEqual(0, engine.ConnectionCount);

        var accepted = engine.Connect(TestSupport.Request(cookies: new() { ["token"] = "ok" }), CometDialect.V2, CometWorkStyle.Stream, "2.0.0");
        Assert.IsNotNull(accepted.Connection);
        Assert.AreEqual(1, engine.ConnectionCount);
    }

    [TestMethod]
    public void BeforeConnect_returning_false_refuses_leaving_the_status_to_the_host()
    {
        var engine = new CometContext().Engine;
        engine.On<BeforeConnectEvent>(_ => false);
        var result = engine.Connect(TestSupport.Request(), CometDialect.V2, CometWorkStyle.Stream, "2.0.0");
        Assert.AreEqual(CometOutcome.Refused, result.Outcome);
        Assert.AreEqual(0, result.ListenerStatus); // Comet4Net.Web answers 403 (tested in the Web tests)
        Assert.IsNull(engine.GetConnection(result.Connection?.Id));
    }

    [TestMethod]
    public void BeforeDrop_can_veto_and_Drop_then_Removed_fire_otherwise()
    {
        var engine = new CometContext().Engine;
        var c = TestSupport.Connect(engine);
        var veto = true;
        var order = new List<string>();
        engine.On<BeforeDropEvent>(_ => !veto);
        engine.On<DropEvent>(e => order.Add("drop:" + e.Reason));
        engine.On<RemovedEvent>(_ => order.Add("removed"));

        Assert.IsFalse(engine.Drop(c));
        Assert.AreSame(c, engine.GetConnection(c.Id));
        Assert.IsEmpty(order);

        veto = false;
        Assert.IsTrue(engine.Drop(c));
        Assert.IsNull(engine.GetConnection(c.Id));
        Assert.AreEqual(ConnectionState.Dropped, c.State);
        CollectionAssert.AreEqual(new[] { "drop:Server", "removed" }, order);
        Assert.IsFalse(engine.SendTo("x", c, 1));
    }

    [TestMethod]
    public void A_throwing_listener_raises_Error_and_the_others_still_run()
    {
        var engine = new CometContext().Engine;
        var errors = new List<Exception>();
        var ran = 0;
        engine.On<ConnectEvent>(_ => throw new InvalidOperationException("boom"));
        engine.On<ConnectEvent>(_ => { ran++; });
        engine.On<ErrorEvent>(e => errors.Add(e.Exception));
        var c = TestSupport.Connect(engine);
        Assert.AreEqual(1, ran);
        Assert.HasCount(1, errors);
        Assert.AreEqual("boom", errors[0].Message);
        Assert.AreSame(c, engine.GetConnection(c.Id));
    }

    [TestMethod]
    public void A_message_listener_can_cancel_a_send()
    {
        var engine = new CometContext().Engine;
        var c = TestSupport.Connect(engine);
        engine.On<MessageEvent>(e => e.Channel != "secret");
        Assert.AreEqual(0, engine.SendToAll("secret", "x"));
        Assert.IsGreaterThan(0, engine.SendToAll("public", "y"));
        var (messages, _) = TestSupport.Read(engine, c, 0);
        Assert.HasCount(1, messages);
        Assert.AreEqual("public", messages[0].Channel);
    }

    [TestMethod]
    public void Attach_and_detach_raise_Revival_and_Dying()
    {
        var engine = new CometContext().Engine;
        var c = TestSupport.Connect(engine);
        var events = new List<string>();
        engine.On<RevivalEvent>(_ => events.Add("revival"));
        engine.On<DyingEvent>(_ => events.Add("dying"));
        Assert.AreEqual(ConnectionState.Dying, c.State);
        var first = engine.Attach(c, null);
        Assert.AreEqual(ConnectionState.Alive, c.State);
        var second = engine.Attach(c, null); // supersedes the first
        Assert.IsTrue(first.WasSuperseded);
        engine.Detach(c, first);             // the superseded one leaving changes nothing
        Assert.AreEqual(ConnectionState.Alive, c.State);
        engine.Detach(c, second);
        Assert.AreEqual(ConnectionState.Dying, c.State);
        CollectionAssert.AreEqual(new[] { "revival", "dying" }, events);
    }

    [TestMethod]
    public void Connection_ids_are_unguessable_and_unique()
    {
        var engine = new CometContext(new CometOptions { MaxConnectionsPerClient = 0 }).Engine;
        var ids = new HashSet<string>();
        for (var i = 0; i < 500; i++)
        {
            var c = TestSupport.Connect(engine);
            Assert.AreEqual(22, c.Id.Length);
            Assert.IsTrue(Comet4Net.Connections.ConnectionIds.IsValid(c.Id));
            Assert.IsTrue(ids.Add(c.Id));
            Assert.AreNotEqual(c.Id, c.Secret);
        }
    }

    [TestMethod]
    public void Connection_limits_refuse_with_too_many_connections()
    {
        var engine = new CometContext(new CometOptions { MaxConnections = 3, MaxConnectionsPerClient = 2 }).Engine;
        TestSupport.Connect(engine, ip: "1.1.1.1");
        var second = TestSupport.Connect(engine, ip: "1.1.1.1");
        var third = engine.Connect(TestSupport.Request("1.1.1.1"), CometDialect.V2, CometWorkStyle.Stream, "2.0.0");
        Assert.AreEqual(CometOutcome.TooManyFromClient, third.Outcome);
        Assert.AreEqual(TimeSpan.FromSeconds(5), third.RetryAfter);
        TestSupport.Connect(engine, ip: "2.2.2.2");
        var fourth = engine.Connect(TestSupport.Request("3.3.3.3"), CometDialect.V2, CometWorkStyle.Stream, "2.0.0");
        Assert.AreEqual(CometOutcome.TooManyConnections, fourth.Outcome);
        Assert.AreEqual(3, engine.ConnectionCount);
        engine.Drop(second);
        Assert.IsNotNull(engine.Connect(TestSupport.Request("1.1.1.1"), CometDialect.V2, CometWorkStyle.Stream, "2.0.0").Connection);
    }
}
