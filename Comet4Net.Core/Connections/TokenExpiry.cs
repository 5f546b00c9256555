namespace Comet4Net.Connections;

/// <summary>
/// A v2 connection made with a signed token lives while its token does: it learns the expiry (the
/// <c>conn</c> answer), sends a new token before it (<c>cmd=refresh</c>), checked like the first and for
/// the same user, and the expiry moves. Past it, its held request ends with <c>token-expired</c> (found on
/// the scheduler's tick, no timer per connection) and nothing more is delivered until a refresh.
/// </summary>
/// <remarks>
/// The whole state is one long on the connection (<see cref="CometConnection.TokenExpires"/>, unix
/// milliseconds) and one in its session (<see cref="Backplane.SessionState.TokenExpires"/>), so a
/// connection resumed or served on another node keeps its expiry.
/// </remarks>
internal static class TokenExpiry
{
    /// <summary>True once the connection's token has expired (never for a connection without one).</summary>
    internal static bool Expired(CometEngine engine, CometConnection connection)
    {
        var expires = Interlocked.Read(ref connection.TokenExpires);
        return expires != 0 && engine.NowMs >= expires;
    }

    /// <summary>The scheduler's pass: ends the held request of a connection whose token expired (its host writes <c>token-expired</c>).</summary>
    internal static bool EndIfExpired(CometEngine engine, CometConnection connection)
    {
        if (Interlocked.Read(ref connection.TokenExpires) == 0 || connection.CurrentAttachment is not { IsEnded: false } attachment) return false;
        if (!Expired(engine, connection)) return false;
        attachment.End();
        return true;
    }

    /// <summary>Another node refreshed the token since this copy was made: the later expiry holds.</summary>
    internal static void Adopt(CometConnection connection, long expires)
    {
        var mine = Interlocked.Read(ref connection.TokenExpires);
        if (expires > mine) Interlocked.CompareExchange(ref connection.TokenExpires, expires, mine);
    }

    /// <summary>
    /// Checks <paramref name="token"/> like a connect's and, for the connection's own user, moves its expiry.
    /// Ok with the new expiry; InvalidToken (bad, expired or missing); NotAllowed (another user, or a legacy connection).
    /// </summary>
    internal static TokenRefreshResult Refresh(CometEngine engine, CometTokens tokens, CometConnection connection, string? token)
    {
        var options = engine.Options;
        if (connection.Dialect != CometDialect.V2)
            return new(CometOutcome.NotAllowed, options.Text("Only v2 connections refresh their token.", "只有 v2 连接可以刷新令牌。"), 0);
        if (!tokens.TryValidate(token, out var user, out var expires, out var why)) return new(CometOutcome.InvalidToken, why, 0);
        if (!string.Equals(user, connection.UserId, StringComparison.Ordinal))
            return new(CometOutcome.NotAllowed, options.Text(
                "The token is for another user: a refresh cannot change the connection's user.", "该令牌属于其他用户：刷新不能更改连接的用户。"), 0);
        Interlocked.Exchange(ref connection.TokenExpires, expires);
        return new(CometOutcome.Ok, null, expires);
    }
}
