using Comet4Net.Hosting;

namespace Comet4Net.Web.Internal.Commands;

/// <summary>
/// <c>cmd=sub&amp;channel=a[&amp;history=N]</c>: the channel's kept history (frames marked
/// <c>"history":true</c>, oldest first) then a <c>subscribed</c> frame; 403 if a listener refused.
/// </summary>
internal sealed class SubscribeCommand(CometContext context, ConnectionLookup lookup) : ChannelCommand(context, lookup)
{
    public override string Name => "sub";

    protected override Task RunAsync(CommandRequest r, CometConnection connection, string channel)
    {
        long history = 0;
        if (r.Get("history") is { } h && (!CommandRequest.TryReadCount(h, out history) || history > 1000))
            return r.Reply.ErrorAsync(CometErrors.BadHistory);
        var past = Engine.Subscribe(connection, channel, (int)history);
        if (past is null) return r.Reply.ErrorAsync(CometErrors.SubscriptionRefused(channel));
        using var body = new MemoryStream();
        foreach (var m in past) body.Write(CometFrames.V2History(m));
        body.Write(CometResponses.V2System(Engine, "subscribed", new Dictionary<string, object?> { ["channel"] = channel, ["history"] = past.Count }));
        return r.Reply.FramesAsync(body.ToArray());
    }
}
