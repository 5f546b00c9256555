namespace Comet4Net.Web.Internal.Commands;

/// <summary><c>cmd=unsub&amp;channel=a</c>: stops listening on a channel; always <c>{"ok":true}</c>.</summary>
internal sealed class UnsubscribeCommand(CometContext context, ConnectionLookup lookup) : ChannelCommand(context, lookup)
{
    public override string Name => "unsub";

    protected override Task ExecuteAsync(CommandRequest r, CometConnection connection, string channel)
    {
        Engine.Unsubscribe(connection, channel);
        return CometResponses.WriteAsync(r.Http, CometResponses.JsonContentType, "{\"ok\":true}"u8.ToArray());
    }
}
