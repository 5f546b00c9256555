namespace Comet4Net.Web.Internal.Commands;

/// <summary>
/// The common part of the v2 channel commands (sub, unsub, pub, count), whether they come as HTTP
/// (the connection proven by its secret) or on the connection's socket: a v2 client, a valid channel
/// name. Each command answers the rest.
/// </summary>
internal abstract class ChannelCommand(CometContext context, ConnectionLookup lookup) : ICometCommand, IConnectionCommand
{
    protected CometContext Context => context;
    protected CometEngine Engine => context.Engine;
    protected CometOptions Options => context.Options;

    public abstract string Name { get; }

    public bool Replies => true;

    public async Task ExecuteAsync(CommandRequest r)
    {
        var connection = await lookup.FindAsync(r);
        if (connection is not null) await ExecuteAsync(r, connection);
    }

    public Task ExecuteAsync(CommandRequest r, CometConnection connection)
    {
        if (connection.Dialect != CometDialect.V2) return r.Reply.ErrorAsync(CometErrors.V2Only(Name));
        if (!CometContext.IsValidChannelName(r.Channel)) return r.Reply.ErrorAsync(CometErrors.ChannelName);
        if (Engine.Host.TokenExpired(connection)) return r.Reply.ErrorAsync(CometErrors.TokenExpired);
        if (Name != "unsub" && Engine.Host.ChannelPolicy(r.Channel!) is not null) return RunIfAuthorizedAsync(r, connection, r.Channel!);
        return RunAsync(r, connection, r.Channel!);
    }

    /// <summary>A channel guarded by a policy: sub, pub and count only for a user it authorizes (403 refused otherwise).</summary>
    private async Task RunIfAuthorizedAsync(CommandRequest r, CometConnection connection, string channel)
    {
        if (await Engine.Host.AuthorizeChannelAsync(connection, channel)) await RunAsync(r, connection, channel);
        else await r.Reply.ErrorAsync(CometErrors.PolicyRefused(channel));
    }

    protected abstract Task RunAsync(CommandRequest r, CometConnection connection, string channel);
}
