using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Comet4Net.Web.Internal;

/// <summary>
/// A <c>/conn</c> request parsed once: the command and every parameter a command may use, each
/// read and checked here. A value that is present but malformed is kept as "bad" so that the
/// command that needs it answers 400 (a command that does not use it ignores it).
/// </summary>
internal sealed record CommandRequest(
    HttpContext Http,
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
    /// Parses the parameters. A JSON-P request (<paramref name="jsonp"/>) is always v2 and always long
    /// polling, whatever <c>ws</c> says: a script tag gets one answer per request.
    /// </summary>
    internal static CommandRequest Parse(HttpContext http, IReadOnlyDictionary<string, string> p, bool jsonp = false)
    {
        var wsText = jsonp ? WorkStyles.LongPoll : p.GetValueOrDefault(CometProtocol.FlagWorkStyle);
        CometWorkStyle? ws = wsText is not null && WorkStyles.TryParse(wsText, out var parsed) ? parsed : null;
        var ackBad = !TryReadAck(http, p, out var ack);
        var secret = p.GetValueOrDefault(CometProtocol.FlagSecret);
        var asksV2 = jsonp || secret is not null || p.ContainsKey(CometProtocol.FlagAck) || p.GetValueOrDefault("v") == "2" || ws is CometWorkStyle.Sse or CometWorkStyle.WebSocket;
        return new CommandRequest(http, p,
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

    /// <summary>True if the client version (or <c>v=2</c>) says v2.</summary>
    internal bool ClientIsV2()
    {
        if (Jsonp || Get("v") == "2") return true;
        var cv = ClientVersion;
        var dot = cv.IndexOf('.');
        var major = dot < 0 ? cv : cv[..dot];
        return int.TryParse(major, NumberStyles.None, CultureInfo.InvariantCulture, out var m) && m >= 2;
    }

    /// <summary>
    /// The client's last processed sequence number: <c>ack</c> or the <c>Last-Event-ID</c> header,
    /// the higher of the two when both come (an EventSource keeps its first URL but updates the header).
    /// </summary>
    private static bool TryReadAck(HttpContext http, IReadOnlyDictionary<string, string> p, out long ack)
    {
        ack = 0;
        foreach (var text in new[] { p.GetValueOrDefault(CometProtocol.FlagAck), http.Request.Headers["Last-Event-ID"].ToString() })
        {
            if (string.IsNullOrEmpty(text)) continue;
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)) return false;
            ack = Math.Max(ack, value);
        }
        return true;
    }
}
