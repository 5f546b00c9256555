using Comet4Net.Client.Internal;

namespace Comet4Net.Client.Tests.Unit;

[TestClass]
public sealed class TransportOrderTests
{
    [TestMethod]
    public void Auto_walks_from_the_servers_choice_websocket_stream_sse_long_polling()
    {
        CollectionAssert.AreEqual(new[] { CometTransport.WebSocket, CometTransport.Stream, CometTransport.Sse, CometTransport.LongPolling },
            TransportOrder.For(null, CometTransport.WebSocket).List.ToArray());
        CollectionAssert.AreEqual(new[] { CometTransport.Stream, CometTransport.Sse, CometTransport.LongPolling },
            TransportOrder.For(null, CometTransport.Stream).List.ToArray());
        CollectionAssert.AreEqual(new[] { CometTransport.LongPolling }, TransportOrder.For(null, CometTransport.LongPolling).List.ToArray());
    }

    [TestMethod]
    public void A_forced_transport_is_the_only_one()
    {
        var order = TransportOrder.For(CometTransport.Sse, CometTransport.WebSocket);
        CollectionAssert.AreEqual(new[] { CometTransport.Sse }, order.List.ToArray());
        Assert.IsFalse(order.NotCarried());
        Assert.AreEqual(CometTransport.Sse, order.Current);
    }

    [TestMethod]
    public void A_transport_the_path_does_not_carry_hands_over_to_the_next_and_the_last_stays()
    {
        var order = TransportOrder.For(null, CometTransport.WebSocket);
        Assert.IsTrue(order.NotCarried());
        Assert.AreEqual(CometTransport.Stream, order.Current);
        Assert.IsTrue(order.NotCarried());
        Assert.IsTrue(order.NotCarried());
        Assert.AreEqual(CometTransport.LongPolling, order.Current);
        Assert.IsFalse(order.NotCarried());
        Assert.AreEqual(CometTransport.LongPolling, order.Current);
    }

    [TestMethod]
    public void A_transport_that_worked_is_tried_again_after_network_failures()
    {
        var order = TransportOrder.For(null, CometTransport.WebSocket);
        order.Opened();
        for (var i = 0; i < 20; i++) Assert.IsFalse(order.NetworkFailure(opened: false), "an outage is the network's fault, not the socket's");
        Assert.AreEqual(CometTransport.WebSocket, order.Current);
    }

    [TestMethod]
    public void One_that_never_opened_moves_on_after_failed_opens_and_back_to_one_that_worked()
    {
        var order = TransportOrder.For(null, CometTransport.WebSocket);
        Assert.IsFalse(order.NetworkFailure(opened: false));
        Assert.IsTrue(order.NetworkFailure(opened: false));
        Assert.AreEqual(CometTransport.Stream, order.Current);
        order.Opened();
        Assert.IsFalse(order.NetworkFailure(opened: true));
        Assert.AreEqual(CometTransport.Stream, order.Current);
        // The stream worked; a later one that never opened goes back to it at once.
        Assert.IsTrue(order.NotCarried());
        Assert.AreEqual(CometTransport.Sse, order.Current);
        Assert.IsTrue(order.NetworkFailure(opened: false));
        Assert.AreEqual(CometTransport.Stream, order.Current);
    }
}
