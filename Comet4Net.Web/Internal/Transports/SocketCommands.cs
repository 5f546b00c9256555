using System.Text;
using Comet4Net.Delivery;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>
/// The channel commands on a WebSocket, with the rules of their HTTP forms: <c>{"cmd":"sub","channel":"a","history":N,"id":1}</c>,
/// <c>unsub</c>, <c>pub</c> (<c>data</c> is JSON text, as on HTTP; <c>event</c> optional) and <c>count</c>.
/// Each gets one reply frame, <c>{"channel":"c4j","data":{"type":"reply","id":1,…}}</c>: on success the
/// fields of the HTTP answer (for <c>sub</c>, <c>frames</c>: the history as NDJSON), else <c>error</c> and <c>message</c>.
/// </summary>
internal sealed class SocketCommands(CometEngine engine, CometConnection connection)
{
    private CometOptions Options => engine.Options;

    /// <summary>The reply frame's bytes, or null for a command that does not exist.</summary>
    internal byte[]? Answer(string cmd, JObject message)
    {
        var id = message["id"] is { Type: JTokenType.Integer or JTokenType.String } value ? value.ToString() : null;
        var channel = message["channel"]?.Type == JTokenType.String ? (string?)message["channel"] : null;
        Dictionary<string, object?>? reply = cmd switch
        {
            "sub" or "unsub" or "pub" or "count" when !CometContext.IsValidChannelName(channel) =>
                Error("bad-request", Options.Text("'channel' must be a channel name: 1 to 64 characters from A-Z a-z 0-9 _ . -", "channel 参数格式错误。")),
            "sub" => Subscribe(channel!, message["history"]),
            "unsub" => Unsubscribe(channel!),
            "pub" => Publish(channel!, message),
            "count" => Count(channel!),
            _ => null,
        };
        if (reply is null) return null;
        reply["id"] = id;
        return CometResponses.V2System(engine, "reply", reply);
    }

    private static Dictionary<string, object?> Error(string code, string text) => new() { ["error"] = code, ["message"] = text };

    private Dictionary<string, object?> Subscribe(string channel, JToken? historyToken)
    {
        var history = 0;
        if (historyToken is not null && (historyToken.Type != JTokenType.Integer || (history = (int)historyToken) is < 0 or > 1000))
            return Error("bad-request", Options.Text("'history' must be a number from 0 to 1000.", "history 必须是 0 到 1000 的数字。"));
        if (engine.Subscribe(connection, channel, history) is not { } past)
            return Error("refused", Options.Text($"The application refused the subscription to '{channel}'.", $"应用拒绝订阅 '{channel}'。"));
        var frames = new StringBuilder();
        foreach (var m in past) frames.Append(Encoding.UTF8.GetString(FrameEncoder.V2(m, history: true)));
        frames.Append(FrameEncoder.FrameJson(null, CometProtocol.SystemChannel,
            JsonConvert.SerializeObject(new { type = "subscribed", channel, history = past.Count }), engine.NowMs)).Append('\n');
        return new() { ["ok"] = true, ["frames"] = frames.ToString() };
    }

    private Dictionary<string, object?> Unsubscribe(string channel)
    {
        engine.Unsubscribe(connection, channel);
        return new() { ["ok"] = true };
    }

    private Dictionary<string, object?> Publish(string channel, JObject message)
    {
        var eventName = message["event"]?.Type == JTokenType.String ? (string?)message["event"] : null;
        if (eventName is not null && !CometContext.IsValidChannelName(eventName))
            return Error("bad-request", Options.Text("'event' must be a name: 1 to 64 characters from A-Z a-z 0-9 _ . -", "event 参数格式错误。"));
        JToken? data = null;
        if (message["data"] is { } text)
        {
            try
            {
                data = text.Type == JTokenType.String ? JToken.Parse((string)text!) : text;
            }
            catch (JsonException e)
            {
                return Error("bad-request", Options.Text("'data' is not valid JSON: " + e.Message, "data 不是有效的 JSON：" + e.Message));
            }
        }
        var result = engine.Publish(connection, channel, eventName, data);
        return result.Outcome switch
        {
            CometOutcome.Ok => new() { ["ok"] = true, ["seq"] = result.Seq, ["delivered"] = result.Delivered },
            CometOutcome.NotAllowed => Error("forbidden", result.Message!),
            CometOutcome.TooLarge => Error("too-large", result.Message!),
            _ => Error("refused", result.Message!),
        };
    }

    private Dictionary<string, object?> Count(string channel)
    {
        if (engine.Context.GetChannelOptions(channel) is not { AllowCount: true })
            return Error("forbidden", Options.Text($"Counts of '{channel}' are not public.", $"通道 '{channel}' 的人数不公开。"));
        var (connections, users) = engine.GetChannelCounts(channel);
        return new() { ["channel"] = channel, ["connections"] = connections, ["users"] = users };
    }
}
