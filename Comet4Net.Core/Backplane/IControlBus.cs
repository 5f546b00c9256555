namespace Comet4Net.Backplane;

/// <summary>
/// The control bus (centrifuge's Controller): asks the node that holds a connection to act on it.
/// </summary>
/// <remarks>
/// Guarantee: a request reaches every other node that is connected when it is made, at most once
/// (a node that misses it keeps the connection; a kicked session's tombstone in the session store
/// still turns the client away on its next request). Sending never waits for the network. The
/// default is a cluster of one: nothing to tell.
/// </remarks>
public interface IControlBus
{
    /// <summary>Connects this node: from now on <paramref name="receiver"/> gets the other nodes' requests.</summary>
    void Start(IControlReceiver receiver) { }

    /// <summary>
    /// Asks the other nodes to kick the connection <paramref name="connectionId"/>, or every connection
    /// of <paramref name="userId"/>, that they hold (their receivers' <see cref="IControlReceiver.Kick"/>).
    /// </summary>
    void RequestKick(string? connectionId, string? userId, string? reason) { }

    /// <summary>
    /// Tells the other nodes that this node ended the connection for good (a drop or a kick of a
    /// connection handed over to it): a copy they kept from serving it earlier goes quietly, without a second drop event.
    /// </summary>
    void AnnounceGone(string connectionId) { }
}

/// <summary>Calls from the control bus into one node.</summary>
public interface IControlReceiver
{
    /// <summary>Another node asks this one to kick a connection it holds, or every connection of a user.</summary>
    void Kick(string? connectionId, string? userId, string? reason);

    /// <summary>Another node ended this connection for good: a copy this node kept goes quietly.</summary>
    void Forget(string connectionId);
}
