namespace Comet4Net.Web.Internal.Commands;

/// <summary><c>cmd=count&amp;channel=a</c>: connections and users on a channel that allows counts; 403 elsewhere.</summary>
internal sealed class CountCommand(CometContext context, ConnectionLookup lookup) : ChannelCommand(context, lookup)
{
    public override string Name => "count";

    protected override Task RunAsync(CommandRequest r, CometConnection connection, string channel)
    {
        if (Context.GetChannelOptions(channel) is not { AllowCount: true }) return r.Reply.ErrorAsync(CometErrors.CountsNotPublic(channel));
        var (connections, users) = Engine.GetChannelCounts(channel);
        return r.Reply.FieldsAsync(new Dictionary<string, object?> { ["channel"] = channel, ["connections"] = connections, ["users"] = users });
    }
}
