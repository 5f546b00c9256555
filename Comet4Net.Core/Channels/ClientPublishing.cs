using Comet4Net.Delivery;
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
        if (NotAllowed(channel) is { } notAllowed) return notAllowed;
        using var span = StartSpan(connection, channel);
        if (Prepare(connection, channel, eventName, data, out var refusal) is not { } json) return refusal;
        var delivered = engine.Subscriptions.Count(channel).Connections;
        var seq = engine.Sender.NumberNow(engine.Sender.Broadcast(channel, eventName, json, connection.UserId ?? connection.Id));
        CometTracing.Numbered(span, seq);
        return new PublishResult(CometOutcome.Ok, null, seq, delivered);
    }

    /// <summary>
    /// A client's publish with an idempotency key: appended once within the window (see
    /// <see cref="CometEngine.AppendOnceAsync"/>); a repeat is answered with the first one's number and
    /// <see cref="PublishResult.Duplicate"/>, without asking the before-publish listeners again (on this node).
    /// Completes when the message is numbered; Unavailable if it was dropped while it waited for the backplane.
    /// </summary>
    internal async Task<PublishResult> PublishOnceAsync(CometConnection connection, string channel, string? eventName, JToken? data, string key)
    {
        if (NotAllowed(channel) is { } notAllowed) return notAllowed;
        using var span = StartSpan(connection, channel);
        PublishResult? refused = null;
        var delivered = 0;
        var (seq, duplicate) = await engine.AppendOnceAsync(IdempotencyKeys.ForClient(connection, channel, key), scoped =>
        {
            if (Prepare(connection, channel, eventName, data, out var refusal) is not { } json)
            {
                refused = refusal;
                return null;
            }
            delivered = engine.Subscriptions.Count(channel).Connections;
            return engine.Sender.Broadcast(channel, eventName, json, connection.UserId ?? connection.Id, scoped);
        }).ConfigureAwait(false);
        if (refused is { } r) return r;
        CometTracing.Numbered(span, seq);
        if (seq == 0)
            return new PublishResult(CometOutcome.Unavailable, engine.Options.Text("The message could not be appended now: send it again with the same key.", "消息暂时无法发送：请用同一个键重发。"));
        return new PublishResult(CometOutcome.Ok, null, seq, duplicate ? 0 : delivered, duplicate);
    }

    private PublishResult? NotAllowed(string channel) => engine.Context.GetChannelOptions(channel) is { AllowPublish: true }
        ? null
        : new PublishResult(CometOutcome.NotAllowed, engine.Options.Text($"Clients may not publish on '{channel}'.", $"客户端不能在通道 '{channel}' 上发送。"));

    private static System.Diagnostics.Activity? StartSpan(CometConnection connection, string channel)
    {
        var span = CometTracing.StartSend("publish", channel);
        span?.SetTag(CometTracing.ConnectionTag, connection.Id);
        return span;
    }

    /// <summary>The before-publish and message listeners, then the data as JSON; null if refused (the answer in <paramref name="refusal"/>).</summary>
    private string? Prepare(CometConnection connection, string channel, string? eventName, JToken? data, out PublishResult refusal)
    {
        refusal = default;
        var options = engine.Options;
        var refused = options.Text("The application refused the message.", "应用拒绝了该消息。");
        var before = new BeforePublishEvent(engine, connection, channel, eventName, data);
        if (!engine.Bus.Fire(before) || before.Refused)
        {
            refusal = new PublishResult(CometOutcome.Refused, before.Reason ?? refused);
            return null;
        }
        string json;
        try
        {
            json = engine.Sender.Serialize(before.Data);
        }
        catch (ArgumentException e)
        {
            refusal = new PublishResult(CometOutcome.TooLarge, e.Message);
            return null;
        }
        if (!engine.Bus.Fire(new MessageEvent(engine, null, channel, before.Data)))
        {
            refusal = new PublishResult(CometOutcome.Refused, refused);
            return null;
        }
        return json;
    }
}
