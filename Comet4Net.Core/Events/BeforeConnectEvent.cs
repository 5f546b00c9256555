namespace Comet4Net.Events;

/// <summary>
/// Raised before a connection is accepted (and again when a client resumes a session it was away
/// from). A listener that returns false, or calls <see cref="Refuse"/>, refuses it: the client gets
/// a refusal with <see cref="Reason"/>. This is where an application authenticates.
/// </summary>
public sealed class BeforeConnectEvent(CometEngine engine, CometConnection connection, ICometRequest request)
    : CometEvent(engine, connection)
{
    /// <summary>The request that opens (or resumes) the connection: query, cookies, headers, user.</summary>
    public ICometRequest Request { get; } = request;

    /// <summary>True once a listener refused.</summary>
    public bool Refused { get; private set; }

    /// <summary>
    /// The status the host answers a refusal with, as the listener chose it (in an HTTP host, a
    /// client-error status such as "unauthorized"); 0 when the listener did not choose, and the host uses its own.
    /// </summary>
    public int Status { get; private set; }

    /// <summary>Why the connection was refused; sent to the client.</summary>
    public string? Reason { get; private set; }

    /// <summary>
    /// Refuses the connection with a reason the client sees. <paramref name="status"/> is the
    /// client-error status the host should answer with; 0 lets the host choose.
    /// </summary>
    public void Refuse(int status = 0, string? reason = null)
    {
        if (status != 0 && status / 100 != 4) throw new ArgumentOutOfRangeException(nameof(status), status, "A refusal is a client-error (4xx) status, or 0.");
        Refused = true;
        Status = status;
        Reason = reason;
    }
}
