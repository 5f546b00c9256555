using System.Globalization;
using Comet4Net.Delivery;

namespace Comet4Net.Web.Internal.Commands;

/// <summary>
/// <c>cmd=sub&amp;channel=a[&amp;history=N]</c>: the channel's kept history (frames marked
/// <c>"history":true</c>, oldest first) then a <c>subscribed</c> frame; 403 if a listener refused.
/// </summary>
internal sealed class SubscribeCommand(CometContext context, ConnectionLookup lookup) : ChannelCommand(context, lookup)
{
    public override string Name => "sub";

    protected override async Task ExecuteAsync(CommandRequest r, CometConnection connection, string channel)
    {
        var history = 0;
        if (r.Get("history") is { } h && (!int.TryParse(h, NumberStyles.None, CultureInfo.InvariantCulture, out history) || history > 1000))
        {
            await CometResponses.ErrorAsync(r.Http, 400, "bad-request", Options.Text("'history' must be a number from 0 to 1000.", "history 必须是 0 到 1000 的数字。"));
            return;
        }
        var past = Engine.Subscribe(connection, channel, history);
        if (past is null)
        {
            await CometResponses.OutcomeAsync(r.Http, CometOutcome.Refused, Options.Text($"The application refused the subscription to '{channel}'.", $"应用拒绝订阅 '{channel}'。"));
            return;
        }
        using var body = new MemoryStream();
        foreach (var m in past) body.Write(FrameEncoder.V2(m, history: true));
        body.Write(CometResponses.V2System(Engine, "subscribed", new Dictionary<string, object?> { ["channel"] = channel, ["history"] = past.Count }));
        await CometResponses.WriteAsync(r.Http, CometResponses.V2ContentType, body.ToArray());
    }
}
