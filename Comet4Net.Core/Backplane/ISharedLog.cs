using Comet4Net.Delivery;

namespace Comet4Net.Backplane;

/// <summary>
/// The shared log (centrifuge's Broker): one numbering for the cluster and every message once.
/// </summary>
/// <remarks>
/// Guarantee: every message appended by any node gets one sequence number, numbering and append are
/// one atomic step (numbers never reorder), and every node's receiver gets every message once, in
/// number order, never two at a time; what a node cannot get (trimmed, or the log was lost) it gets as
/// a hole, never as silence. Appending never blocks the caller on the network.
/// </remarks>
public interface ISharedLog
{
    /// <summary>
    /// The identity of the log's numbering. It changes whenever the log lost what it held and
    /// numbering restarted (a process restart in memory, an emptied Redis), so that a client
    /// resuming with an old epoch is told of a gap instead of being matched against new numbers.
    /// </summary>
    string Epoch { get; }

    /// <summary>
    /// The highest sequence number this node has received. A new log starts above every number an
    /// earlier log of another epoch handed out, so an old position is always before the log's start.
    /// </summary>
    long LastSequence { get; }

    /// <summary>
    /// Connects this node: from now on <paramref name="receiver"/> gets every message appended by
    /// any node, this one included, once each, in sequence order, never two at a time. The node's
    /// log begins after <see cref="LastSequence"/> as read when this is called.
    /// </summary>
    void Start(IBackplaneReceiver receiver);

    /// <summary>
    /// Appends a message: gives it the next sequence number. The message takes its place in this
    /// node's order before this returns, so appends made one after another are numbered in that
    /// order whether or not the caller awaits them; it never blocks the caller on the network. The
    /// task completes with the numbered message once this node's receiver has it (number 0: the
    /// message was dropped, e.g. past a bound while the store was unreachable, and readers are told of a gap).
    /// </summary>
    ValueTask<CometMessage> AppendAsync(OutgoingMessage message);

    /// <summary>
    /// Every message numbered below <paramref name="seq"/> is older than CacheExpires (past every
    /// client's resume window): the log may let them go. Called by the scheduler after each trim of
    /// the node's own log; never waits for the network. The default keeps nothing to trim.
    /// </summary>
    void TrimBefore(long seq) { }

    /// <summary>
    /// The highest number this node knows the shared log to have handed out (at least
    /// <see cref="LastSequence"/>): the difference is how far this node's copy is behind. The default
    /// (a log that hands every message to this node as it is appended) is never behind.
    /// </summary>
    long HeadSequence => LastSequence;
}

/// <summary>Calls from the shared log into one node.</summary>
public interface IBackplaneReceiver
{
    /// <summary>A message of the shared log, in sequence order: the node files it for its connections.</summary>
    void Receive(CometMessage message);

    /// <summary>
    /// One of this node's appends came back from the shared store (for the node's metrics): how long the
    /// round trip took and how many messages it carried. A backplane that appends in memory need not call it.
    /// </summary>
    void Appended(TimeSpan roundTrip, int messages) { }
}
