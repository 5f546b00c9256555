namespace Comet4Net;

/// <summary>
/// What the engine answers a client's command with. The core knows no transport: a host maps
/// each outcome to its own answer (Comet4Net.Web: an HTTP status and a JSON body).
/// </summary>
public enum CometOutcome
{
    /// <summary>Done.</summary>
    Ok,
    /// <summary>A listener of the application refused (before-connect, subscribe, before-publish).</summary>
    Refused,
    /// <summary>The node holds its maximum of connections; try again later.</summary>
    TooManyConnections,
    /// <summary>This client address holds its maximum of connections; try again later.</summary>
    TooManyFromClient,
    /// <summary>The token is missing where one is required, expired, forged or malformed.</summary>
    InvalidToken,
    /// <summary>No connection or session with that id is kept (expired, dropped, or the server restarted).</summary>
    UnknownSession,
    /// <summary>The secret does not match the connection, or the request does not come from its owner.</summary>
    NotOwner,
    /// <summary>The application ended the connection (kick); the client must not reconnect.</summary>
    Kicked,
    /// <summary>The channel does not allow this (publishing, counts) for clients.</summary>
    NotAllowed,
    /// <summary>The message is larger than the limit.</summary>
    TooLarge,
    /// <summary>A before-drop listener kept the connection.</summary>
    Vetoed,
    /// <summary>The backplane's store does not answer now (the session cannot be read); try again shortly.</summary>
    Unavailable,
}

/// <summary>The outcome of opening (or resuming) a connection, for hosts (<see cref="Hosting.CometHost.ConnectAsync"/>).</summary>
/// <param name="Connection">The connection, when the outcome is <see cref="CometOutcome.Ok"/>.</param>
/// <param name="Outcome">What happened.</param>
/// <param name="Message">Why it was refused, for a person to read.</param>
/// <param name="ListenerStatus">The status a refusing before-connect listener chose (0: none).</param>
/// <param name="RetryAfter">When a limit was reached: how long the client should wait.</param>
/// <param name="RefusedChannels">Channels named at connect (or kept by a resumed session) that the subscribe listeners refused.</param>
public readonly record struct ConnectResult(CometConnection? Connection, CometOutcome Outcome, string? Message, int ListenerStatus = 0,
    TimeSpan RetryAfter = default, IReadOnlyList<string>? RefusedChannels = null)
{
    internal static ConnectResult Accepted(CometConnection connection, IReadOnlyList<string>? refused = null) =>
        new(connection, CometOutcome.Ok, null, RefusedChannels: refused is { Count: > 0 } ? refused : null);
}

/// <summary>The outcome of a client's publish (<see cref="Hosting.CometHost.Publish"/>, for hosts): on success its sequence number and how many connections receive the channel.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Message">Why it was refused, for a person to read.</param>
/// <param name="Seq">The message's sequence number.</param>
/// <param name="Delivered">How many connections receive the channel.</param>
/// <param name="Duplicate">A publish whose idempotency key was seen within the window: not appended again; <paramref name="Seq"/> is the first one's.</param>
public readonly record struct PublishResult(CometOutcome Outcome, string? Message, long Seq = 0, int Delivered = 0, bool Duplicate = false);
