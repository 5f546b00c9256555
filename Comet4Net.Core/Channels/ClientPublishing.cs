using Comet4Net.Diagnostics;
using Comet4Net.Events;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Channels;

/// <summary>
/// A client's own message (<c>JS.Engine.send</c>): allowed only on channels registered with
/// AllowPublish and only with the before-publish listeners' consent, stamped with its sender.
/// </summary>
internal sealed class ClientPublishing(CometEngine engine)
{
    internal PublishResult Publish(CometConnection connection, string channel, string? eventName, JToken? data)
    {
        var options = engine.Options;
        if (engine.Context.GetChannelOptions(channel) is not { AllowPublish: true })
            return new PublishResult(CometOutcome.NotAllowed, options.Text($"Clients may not publish on '{channel}'.", $"客户端不能在通道 '{channel}' 上发送。"));
        var refused = options.Text("The application refused the message.", "应用拒绝了该消息。");
        using var span = CometTracing.StartSend("publish", channel);
        span?.SetTag(CometTracing.ConnectionTag, connection.Id);
        var before = new BeforePublishEvent(engine, connection, channel, eventName, data);
        if (!engine.Bus.Fire(before) || before.Refused)
            return new PublishResult(CometOutcome.Refused, before.Reason ?? refused);
        string json;
        try
        {
            json = engine.Sender.Serialize(before.Data);
        }
        catch (ArgumentException e)
        {
            return new PublishResult(CometOutcome.TooLarge, e.Message);
        }
        if (!engine.Bus.Fire(new MessageEvent(engine, null, channel, before.Data)))
            return new PublishResult(CometOutcome.Refused, refused);
        var delivered = engine.Subscriptions.Count(channel).Connections;
        var seq = engine.Sender.NumberNow(engine.Sender.Broadcast(channel, eventName, json, connection.UserId ?? connection.Id));
        CometTracing.Numbered(span, seq);
        return new PublishResult(CometOutcome.Ok, null, seq, delivered);
    }
}
