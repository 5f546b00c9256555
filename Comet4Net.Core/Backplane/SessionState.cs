namespace Comet4Net.Backplane;

/// <summary>
/// What resuming a v2 connection needs, kept apart from the connection object so that it outlives
/// it (for the resume window) and can be read on any node: who the client is, what it listens to,
/// and where its messages start (the client's own ack is what a resume starts from).
/// </summary>
/// <param name="Id">The connection id.</param>
/// <param name="Secret">The connection secret the client must present.</param>
/// <param name="UserId">The user the connection belongs to, or null.</param>
/// <param name="Dialect">The dialect it speaks.</param>
/// <param name="StartSeq">Messages numbered above this are for the connection.</param>
/// <param name="Subscriptions">Each channel it listens on with the number its subscription starts after; null: every channel.</param>
/// <param name="Style">The work style it used, for a client that resumes without naming one.</param>
/// <param name="Away">True once the connection was dropped (away longer than ConnExpires, or its node stopped): coming back connects it again, with Comet4J's events.</param>
/// <param name="Holder">The node that served the client last (its engine's NodeId): the one that reports its drop.</param>
/// <param name="TokenExpires">When the connection's signed token expires (unix milliseconds; 0: none): a resume on any node keeps it.</param>
/// <param name="Kicked">The reason given when the connection was kicked: the session is kept only so that a client coming back to any node is told so (and not resumed).</param>
public sealed record SessionState(
    string Id,
    string Secret,
    string? UserId,
    CometDialect Dialect,
    long StartSeq,
    IReadOnlyDictionary<string, long>? Subscriptions,
    CometWorkStyle Style = CometWorkStyle.Stream,
    bool Away = false,
    string? Holder = null,
    string? Kicked = null,
    long TokenExpires = 0);
