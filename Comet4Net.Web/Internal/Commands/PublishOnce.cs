using Comet4Net.Delivery;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Internal.Commands;

/// <summary>
/// <c>cmd=pub&amp;…&amp;idem=KEY</c> (on HTTP, JSON-P or a socket's <c>{"cmd":"pub",…,"idem":"KEY"}</c>): a publish with an
/// idempotency key, appended once within Comet:IdempotencyWindow. The answer waits for the message's number:
/// <c>{"ok":true,"seq":S,"delivered":N}</c>, and for a repeat <c>{"ok":true,"seq":S,"delivered":0,"dup":true}</c> with the
/// first one's number. A bad key is <c>400</c>; a message dropped while it waited for Redis is <c>503</c> (send it again).
/// </summary>
internal static class PublishOnce
{
    internal const string Parameter = "idem";

    internal static async Task RunAsync(CometEngine engine, CommandRequest r, CometConnection connection, string channel, string? eventName, JToken? data, string key)
    {
        if (!IdempotencyKeys.IsValid(key))
        {
            await r.Reply.ErrorAsync(CometErrors.BadIdempotencyKey);
            return;
        }
        var result = await engine.Host.PublishOnceAsync(connection, channel, eventName, data, key);
        if (result.Outcome != CometOutcome.Ok)
        {
            await r.Reply.OutcomeAsync(result.Outcome, result.Message!, retryAfter: result.Outcome == CometOutcome.Unavailable ? TimeSpan.FromSeconds(1) : default);
            return;
        }
        await r.Reply.FieldsAsync(result.Duplicate
            ? new Dictionary<string, object?> { ["ok"] = true, ["seq"] = result.Seq, ["delivered"] = 0, ["dup"] = true }
            : new Dictionary<string, object?> { ["ok"] = true, ["seq"] = result.Seq, ["delivered"] = result.Delivered });
    }
}
