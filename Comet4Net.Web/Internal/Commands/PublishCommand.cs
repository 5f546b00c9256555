using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Internal.Commands;

/// <summary>
/// <c>cmd=pub&amp;channel=a[&amp;event=e]&amp;data=JSON</c>: a client's message on a channel that allows it;
/// the answer is its delivery report <c>{"ok":true,"seq":S,"delivered":N}</c>.
/// </summary>
internal sealed class PublishCommand(CometContext context, ConnectionLookup lookup) : ChannelCommand(context, lookup)
{
    public override string Name => "pub";

    protected override async Task ExecuteAsync(CommandRequest r, CometConnection connection, string channel)
    {
        var eventName = r.Get("event");
        if (eventName is not null && !CometContext.IsValidChannelName(eventName))
        {
            await CometResponses.ErrorAsync(r.Http, 400, "bad-request", Options.Text("'event' must be a name: 1 to 64 characters from A-Z a-z 0-9 _ . -", "event 参数格式错误。"));
            return;
        }
        JToken? data = null;
        if (r.Get("data") is { } dataText)
        {
            try
            {
                data = JToken.Parse(dataText);
            }
            catch (JsonException e)
            {
                await CometResponses.ErrorAsync(r.Http, 400, "bad-request", Options.Text("'data' is not valid JSON: " + e.Message, "data 不是有效的 JSON：" + e.Message));
                return;
            }
        }
        var result = Engine.Publish(connection, channel, eventName, data);
        if (result.Outcome != CometOutcome.Ok)
        {
            await CometResponses.OutcomeAsync(r.Http, result.Outcome, result.Message!);
            return;
        }
        await CometResponses.JsonAsync(r.Http, new { ok = true, seq = result.Seq, delivered = result.Delivered });
    }
}
