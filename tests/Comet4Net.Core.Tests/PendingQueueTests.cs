using Comet4Net.Delivery;

namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class PendingQueueTests
{
    private static CometMessage Message(long seq) => CometMessage.Sequenced(seq, new OutgoingMessage("c", seq.ToString(), 0, ["cid"]));

    private static long[] Seqs(PendingQueue queue)
    {
        var list = new List<CometMessage>();
        queue.CopyRange(0, long.MaxValue, list);
        return list.Select(m => m.Seq).ToArray();
    }

    [TestMethod]
    public void A_message_that_comes_after_a_newer_one_is_queued_in_order_and_none_twice()
    {
        // A connection resumed here: the receiver files 9 for it while the refill from the log adds 1, 5 and 9.
        var queue = new PendingQueue();
        queue.Add(Message(9), 100, long.MaxValue);
        foreach (var seq in new long[] { 1, 5, 9 }) queue.Add(Message(seq), 100, long.MaxValue);
        CollectionAssert.AreEqual(new long[] { 1, 5, 9 }, Seqs(queue));
        Assert.AreEqual(3, queue.Count);

        var upTo5 = new List<CometMessage>();
        queue.CopyRange(0, 5, upTo5);
        CollectionAssert.AreEqual(new long[] { 1, 5 }, upTo5.Select(m => m.Seq).ToArray(), "a reader taking up to 5 gets 1 and 5, in order");
        queue.RemoveThrough(5);
        CollectionAssert.AreEqual(new long[] { 9 }, Seqs(queue));
    }

    [TestMethod]
    public void The_limits_still_push_out_the_oldest()
    {
        var queue = new PendingQueue();
        foreach (var seq in new long[] { 4, 2, 3, 1 })
        {
            queue.Add(Message(seq), 3, long.MaxValue);
        }
        CollectionAssert.AreEqual(new long[] { 2, 3, 4 }, Seqs(queue));
        Assert.AreEqual(1, queue.DroppedThroughSeq);
    }
}
