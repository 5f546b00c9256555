namespace Comet4Net.Web.Internal.Commands;

/// <summary><c>cmd=count&amp;channel=a</c>: connections and users on a channel that allows counts; 403 elsewhere.</summary>
internal sealed class CountCommand(CometContext context, ConnectionLookup lookup) : ChannelCommand(context, lookup)
{
    public override string Name => "count";

    protected override Task ExecuteAsync(CommandRequest r, CometConnection connection, string channel)
    {
        if (Context.GetChannelOptions(channel) is not { AllowCount: true })
            return CometResponses.OutcomeAsync(r.Http, CometOutcome.NotAllowed, Options.Text($"Counts of '{channel}' are not public.", $"通道 '{channel}' 的人数不公开。"));
        var (connections, users) = Engine.GetChannelCounts(channel);
        return CometResponses.JsonAsync(r.Http, new { channel, connections, users });
    }
}
