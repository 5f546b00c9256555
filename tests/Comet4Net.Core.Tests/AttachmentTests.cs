using Comet4Net.Connections;

namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class AttachmentTests
{
    [TestMethod]
    public void A_held_request_ends_on_the_first_tick_past_its_deadline_and_not_before()
    {
        var time = new ManualTime();
        var engine = new CometContext(new CometOptions { Timeout = 1000 }, time).Engine;
        var connection = TestSupport.Connect(engine);
        var attachment = engine.Attach(connection, native: null);
        attachment.Deadline = engine.DeadlineAfter(engine.Options.Timeout);
        var ended = 0;
        attachment.OnEnd(() => Interlocked.Increment(ref ended));

        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.AreEqual(0, engine.EndOverdueRequests());
        Assert.IsFalse(attachment.IsEnded);

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.AreEqual(1, engine.EndOverdueRequests());
        Assert.IsTrue(attachment.IsEnded);
        Assert.IsTrue(attachment.TimedOut);
        Assert.IsFalse(attachment.WasSuperseded);
        Assert.AreEqual(1, ended);
        Assert.AreEqual(0, engine.EndOverdueRequests(), "an ended request is not ended again");
        Assert.AreEqual(1, ended);
    }

    [TestMethod]
    public void A_request_without_a_deadline_lives_until_a_newer_one_takes_over()
    {
        var time = new ManualTime();
        var engine = new CometContext(new CometOptions { Timeout = 1000 }, time).Engine;
        var connection = TestSupport.Connect(engine);
        var socket = engine.Attach(connection, native: null); // a WebSocket: no deadline
        var ended = 0;
        socket.OnEnd(() => Interlocked.Increment(ref ended));
        time.Advance(TimeSpan.FromHours(1));
        Assert.AreEqual(0, engine.EndOverdueRequests());
        Assert.IsFalse(socket.IsEnded);

        var newer = engine.Attach(connection, native: null);
        Assert.IsTrue(socket.WasSuperseded);
        Assert.IsFalse(socket.TimedOut);
        Assert.AreEqual(1, ended);
        Assert.IsFalse(newer.IsEnded);
    }

    [TestMethod]
    public void An_end_callback_given_after_the_end_runs_at_once_and_a_drop_ends_the_request()
    {
        var engine = new CometContext().Engine;
        var connection = TestSupport.Connect(engine);
        var attachment = engine.Attach(connection, native: null);
        Assert.IsTrue(engine.Drop(connection));
        Assert.IsTrue(attachment.IsEnded);
        var ran = false;
        attachment.OnEnd(() => ran = true);
        Assert.IsTrue(ran);
    }

    [TestMethod]
    public void Ending_from_many_threads_at_once_runs_the_callback_once()
    {
        for (var round = 0; round < 200; round++)
        {
            var attachment = new Attachment(null);
            var ended = 0;
            attachment.OnEnd(() => Interlocked.Increment(ref ended));
            Parallel.Invoke(attachment.End, attachment.Supersede, attachment.TimeOut, attachment.End);
            Assert.AreEqual(1, ended);
        }
    }
}
