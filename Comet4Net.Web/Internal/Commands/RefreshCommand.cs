namespace Comet4Net.Web.Internal.Commands;

/// <summary>
/// <c>cmd=refresh&amp;cid=…&amp;cs=…&amp;token=…</c> (or <c>{"cmd":"refresh","token":"…","id":1}</c> on a socket):
/// a new signed token for a connection, checked like the first one and for the same user; the
/// connection's expiry moves. <c>200 {"ok":true,"expires":E,"ttl":T}</c>; <c>401 invalid-token</c>,
/// <c>403 forbidden</c> (another user), <c>400</c> (no token, or a server without tokens).
/// </summary>
internal sealed class RefreshCommand(CometContext context, ConnectionLookup lookup) : ICometCommand, IConnectionCommand
{
    public string Name => TokenRefresh.Command;

    public bool Replies => true;

    public async Task ExecuteAsync(CommandRequest r)
    {
        if (context.Tokens is null)
        {
            await r.Reply.ErrorAsync(CometErrors.RefreshNoTokens);
            return;
        }
        var connection = await lookup.FindAsync(r);
        if (connection is not null) await ExecuteAsync(r, connection);
    }

    public async Task ExecuteAsync(CommandRequest r, CometConnection connection)
    {
        if (context.Tokens is not { } tokens)
        {
            await r.Reply.ErrorAsync(CometErrors.RefreshNoTokens);
            return;
        }
        if (connection.Dialect != CometDialect.V2)
        {
            await r.Reply.ErrorAsync(CometErrors.V2Only(Name));
            return;
        }
        var token = r.Get("token");
        if (string.IsNullOrEmpty(token))
        {
            await r.Reply.ErrorAsync(CometErrors.RefreshMissingToken);
            return;
        }
        var result = await context.Engine.Host.RefreshTokenAsync(connection, tokens, token);
        if (result.Outcome != CometOutcome.Ok)
        {
            await r.Reply.OutcomeAsync(result.Outcome, result.Message ?? "");
            return;
        }
        var fields = new Dictionary<string, object?> { ["ok"] = true };
        TokenRefresh.AddExpiry(fields, context.Engine, connection);
        await r.Reply.FieldsAsync(fields);
    }
}
