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

    protected override Task RunAsync(CommandRequest r, CometConnection connection, string channel)
    {
        var eventName = r.Get("event");
        if (eventName is not null && !CometContext.IsValidChannelName(eventName)) return r.Reply.ErrorAsync(CometErrors.EventName);
        JToken? data = null;
        if (r.Get("data") is { } dataText)
        {
            try
            {
                data = JToken.Parse(dataText);
            }
            catch (JsonException e)
            {
                return r.Reply.ErrorAsync(CometErrors.BadData(e.Message));
            }
        }
        if (r.Get(PublishOnce.Parameter) is { } key) return PublishOnce.RunAsync(Engine, r, connection, channel, eventName, data, key);
        var result = Engine.Host.Publish(connection, channel, eventName, data);
        if (result.Outcome != CometOutcome.Ok) return r.Reply.OutcomeAsync(result.Outcome, result.Message!);
        return r.Reply.FieldsAsync(new Dictionary<string, object?> { ["ok"] = true, ["seq"] = result.Seq, ["delivered"] = result.Delivered });
    }
}
