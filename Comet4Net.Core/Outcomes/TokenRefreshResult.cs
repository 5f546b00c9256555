namespace Comet4Net;

/// <summary>The answer to a token refresh: Ok with <see cref="Expires"/> (unix milliseconds), or why not.</summary>
/// <param name="Outcome">Ok, InvalidToken (a bad, expired or missing token), NotAllowed (another user, a legacy connection) or Unavailable.</param>
/// <param name="Message">Why not, in the configured language; null on Ok.</param>
/// <param name="Expires">The connection's new expiry (unix milliseconds) on Ok.</param>
public sealed record TokenRefreshResult(CometOutcome Outcome, string? Message, long Expires);
