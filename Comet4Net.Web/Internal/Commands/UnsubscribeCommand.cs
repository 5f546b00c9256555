namespace Comet4Net.Web.Internal.Commands;

/// <summary><c>cmd=unsub&amp;channel=a</c>: stops listening on a channel; always <c>{"ok":true}</c>.</summary>
internal sealed class UnsubscribeCommand(CometContext context, ConnectionLookup lookup) : ChannelCommand(context, lookup)
{
    public override string Name => "unsub";

    protected override Task RunAsync(CommandRequest r, CometConnection connection, string channel)
    {
        Engine.Unsubscribe(connection, channel);
        return r.Reply.FieldsAsync(new Dictionary<string, object?> { ["ok"] = true });
    }
}
