namespace Comet4Net.Web.Internal.Commands;

/// <summary>
/// The common part of the v2 channel commands (sub, unsub, pub, count): a connection proven by its
/// secret, a v2 client, a valid channel name. Each command answers the rest.
/// </summary>
internal abstract class ChannelCommand(CometContext context, ConnectionLookup lookup) : ICometCommand
{
    protected CometContext Context => context;
    protected CometEngine Engine => context.Engine;
    protected CometOptions Options => context.Options;

    public abstract string Name { get; }

    public async Task ExecuteAsync(CommandRequest r)
    {
        var connection = await lookup.FindAsync(r);
        if (connection is null) return;
        if (connection.Dialect != CometDialect.V2)
        {
            await CometResponses.ErrorAsync(r.Http, 400, "bad-request", Options.Text($"cmd={Name} is for v2 clients.", $"cmd={Name} 仅用于 v2 客户端。"));
            return;
        }
        if (!CometContext.IsValidChannelName(r.Channel))
        {
            await CometResponses.ErrorAsync(r.Http, 400, "bad-request", Options.Text("'channel' must be a channel name: 1 to 64 characters from A-Z a-z 0-9 _ . -", "channel 参数格式错误。"));
            return;
        }
        CometResponses.NoCache(r.Http.Response);
        await ExecuteAsync(r, connection, r.Channel!);
    }

    protected abstract Task ExecuteAsync(CommandRequest r, CometConnection connection, string channel);
}
