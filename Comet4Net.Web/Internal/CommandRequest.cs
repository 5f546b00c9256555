using System.Globalization;
using Microsoft.AspNetCore.Http;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Internal;

/// <summary>
/// A command parsed once, whether it came as a <c>/conn</c> request or as a message on a socket:
/// the command and every parameter a command may use, each read and checked here, and the
/// <see cref="Reply"/> the command answers through. A value that is present but malformed is kept
/// as "bad" so that the command that needs it answers 400 (a command that does not use it ignores it).
/// <see cref="Http"/> is the request for the commands that only exist on HTTP (conn, revival, drop);
/// null on a socket.
/// </summary>
internal sealed record CommandRequest(
    CommandReply Reply,
    HttpContext? Http,
    IReadOnlyDictionary<string, string> Parameters,
    string? Command,
    string ClientVersion,
    string? ConnectionId,
    string? Secret,
    string? WorkStyleText,
    CometWorkStyle? WorkStyle,
    long Ack,
    bool AckIsBad,
    string? Epoch,
    string? Channel,
    bool AsksV2,
    bool SseNamedEvents,
    bool Jsonp = false)
{
    internal string? Get(string name) => Parameters.GetValueOrDefault(name);

    internal bool WorkStyleIsBad => WorkStyleText is not null && WorkStyle is null;

    /// <summary>
    /// Parses a <c>/conn</c> request's parameters. A JSON-P request (<paramref name="jsonp"/>) is always
    /// v2 and always long polling, whatever <c>ws</c> says: a script tag gets one answer per request.
    /// </summary>
    internal static CommandRequest Parse(HttpContext http, CometOptions options, IReadOnlyDictionary<string, string> p, bool jsonp = false)
    {
        var wsText = jsonp ? WorkStyles.LongPoll : p.GetValueOrDefault(CometProtocol.FlagWorkStyle);
        CometWorkStyle? ws = wsText is not null && WorkStyles.TryParse(wsText, out var parsed) ? parsed : null;
        var ackBad = !TryReadAck(p.GetValueOrDefault(CometProtocol.FlagAck), http.Request.Headers["Last-Event-ID"].ToString(), out var ack);
        var secret = p.GetValueOrDefault(CometProtocol.FlagSecret);
        var asksV2 = jsonp || secret is not null || p.ContainsKey(CometProtocol.FlagAck) || p.GetValueOrDefault("v") == "2" || ws is CometWorkStyle.Sse or CometWorkStyle.WebSocket;
        return new CommandRequest(new HttpReply(http, options), http, p,
            Command: p.GetValueOrDefault(CometProtocol.FlagAction),
            ClientVersion: p.GetValueOrDefault(CometProtocol.FlagClientVersion) ?? "",
            ConnectionId: p.GetValueOrDefault(CometProtocol.FlagId),
            Secret: secret,
            WorkStyleText: wsText,
            WorkStyle: ws,
            Ack: ack,
            AckIsBad: ackBad,
            Epoch: p.GetValueOrDefault("ep"),
            Channel: p.GetValueOrDefault("channel"),
            AsksV2: asksV2,
            SseNamedEvents: p.GetValueOrDefault("names") != "0",
            Jsonp: jsonp);
    }

    /// <summary>
    /// A command of a socket (<c>{"cmd":"sub","channel":"a","id":1}</c>) as the same parameters its HTTP
    /// form carries: string members as they are, <c>data</c> as JSON text, whole numbers as digits; a
    /// member of the wrong type is left out, or for a number kept as a bad value.
    /// </summary>
    internal static CommandRequest FromSocket(string command, JObject message, CommandReply reply)
    {
        var p = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in message)
        {
            if (value is null) continue;
            switch (name)
            {
                case "channel" or "event" or "token" when value.Type == JTokenType.String:
                    p[name] = (string)value!;
                    break;
                case "data":
                    p[name] = value.Type == JTokenType.String ? (string)value! : value.ToString(Formatting.None);
                    break;
                case "idem": // a key of another type is kept as a bad one (400), never dropped: the publish would lose its guarantee
                    p[name] = value.Type == JTokenType.String ? (string)value! : "?";
                    break;
                case "history" or "seq":
                    p[name] = value.Type == JTokenType.Integer ? value.ToString(Formatting.None) : "?";
                    break;
            }
        }
        return new CommandRequest(reply, null, p, command, "", null, null, null, null, 0, false, null,
            Channel: p.GetValueOrDefault("channel"), AsksV2: true, SseNamedEvents: false);
    }

    /// <summary>True if the client version (or <c>v=2</c>) says v2.</summary>
    internal bool ClientIsV2()
    {
        if (Jsonp || Get("v") == "2") return true;
        var cv = ClientVersion;
        var dot = cv.IndexOf('.');
        var major = dot < 0 ? cv : cv[..dot];
        return int.TryParse(major, NumberStyles.None, CultureInfo.InvariantCulture, out var m) && m >= 2;
    }

    /// <summary>A whole number, 0 or more (an <c>ack</c>, a <c>seq</c>, a <c>history</c>).</summary>
    internal static bool TryReadCount(string? text, out long value) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    /// <summary>
    /// The client's last processed sequence number: <c>ack</c> or the <c>Last-Event-ID</c> header,
    /// the higher of the two when both come (an EventSource keeps its first URL but updates the header).
    /// </summary>
    private static bool TryReadAck(string? ackText, string lastEventId, out long ack)
    {
        ack = 0;
        foreach (var text in new[] { ackText, lastEventId })
        {
            if (string.IsNullOrEmpty(text)) continue;
            if (!TryReadCount(text, out var value)) return false;
            ack = Math.Max(ack, value);
        }
        return true;
    }
}
