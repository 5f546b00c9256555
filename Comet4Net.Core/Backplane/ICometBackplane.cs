namespace Comet4Net.Backplane;

/// <summary>
/// The seams between one node's engine and the others, one per job (as centrifuge splits Broker,
/// PresenceManager and Controller): the shared log, the session store, presence and users, and the
/// control bus. <see cref="InMemoryBackplane"/> (the default) is a cluster of one; <c>Comet4Net.Redis</c>
/// shares all four through Redis; <see cref="CometBackplane"/> puts together parts from different places.
/// </summary>
/// <remarks>
/// Fan-out stays local: every node keeps its own copy of the log, fed by the receiver given to
/// <see cref="ISharedLog.Start"/>, and writes to its own sockets. An implementation never calls back
/// into the engine other than through its receivers.
/// </remarks>
public interface ICometBackplane
{
    /// <summary>The shared log: epoch, numbering and append, the tail that feeds this node, trimming.</summary>
    ISharedLog Log { get; }

    /// <summary>What resuming a connection needs, kept for the resume window and readable on any node.</summary>
    ISessionStore Sessions { get; }

    /// <summary>Who receives each channel, and which users are online, across the cluster.</summary>
    IPresenceStore Presence { get; }

    /// <summary>Kicks and drops carried out by the node that holds the connection.</summary>
    IControlBus Control { get; }

    /// <summary>The shared log's <see cref="ISharedLog.Epoch"/> (what a host writes in a connect answer).</summary>
    string Epoch => Log.Epoch;
}

/// <summary>Four parts, each from wherever it comes from, as one backplane.</summary>
/// <param name="Log">The shared log.</param>
/// <param name="Sessions">The session store.</param>
/// <param name="Presence">Presence and users.</param>
/// <param name="Control">The control bus.</param>
public sealed record CometBackplane(ISharedLog Log, ISessionStore Sessions, IPresenceStore Presence, IControlBus Control) : ICometBackplane;

/// <summary>How many connections, and distinct users among them, receive a channel.</summary>
public readonly record struct ChannelCount(int Connections, int Users);

/// <summary>A connection that receives a channel, and its user (null if none).</summary>
public readonly record struct ChannelMember(string ConnectionId, string? UserId);
