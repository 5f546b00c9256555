using System.Text;
using Newtonsoft.Json;

namespace Comet4Net.Delivery;

/// <summary>Turns messages into the bytes of each dialect's frame (see docs/protocol.md).</summary>
internal static class FrameEncoder
{
    private static readonly byte[] Hex = "0123456789ABCDEF"u8.ToArray();
    private static readonly bool[] Unreserved = BuildUnreserved();

    private static bool[] BuildUnreserved()
    {
        var table = new bool[128];
        for (var c = 'A'; c <= 'Z'; c++) table[c] = true;
        for (var c = 'a'; c <= 'z'; c++) table[c] = true;
        for (var c = '0'; c <= '9'; c++) table[c] = true;
        foreach (var c in "-_.!~*'()") table[c] = true;
        return table;
    }

    /// <summary>The JSON object every frame carries: {"channel":…,"data":…,"time":…}, with seq first in v2.</summary>
    internal static string FrameJson(long? seq, string channel, string dataJson, long time, string? eventName = null, string? from = null, bool history = false,
        string? deltaFields = null, bool newline = false) =>
        FrameText.ToStringAndReturn(BuildFrameJson(seq, channel, dataJson, time, eventName, from, history, deltaFields, newline));

    private static StringBuilder BuildFrameJson(long? seq, string channel, string dataJson, long time, string? eventName = null, string? from = null, bool history = false,
        string? deltaFields = null, bool newline = false)
    {
        var sb = FrameText.Rent(dataJson.Length + channel.Length + 64 + (from?.Length ?? 0) + (eventName?.Length ?? 0) + (deltaFields?.Length ?? 0));
        sb.Append('{');
        if (seq is { } s) sb.Append("\"seq\":").Append(s).Append(',');
        sb.Append("\"channel\":").Append(JsonConvert.ToString(channel));
        if (eventName is not null) sb.Append(",\"event\":").Append(JsonConvert.ToString(eventName));
        if (deltaFields is not null) sb.Append(',').Append(deltaFields); // a delta form: "d":0, or "d":1,"b":base
        sb.Append(",\"data\":").Append(dataJson);
        sb.Append(",\"time\":").Append(time);
        if (from is not null) sb.Append(",\"from\":").Append(JsonConvert.ToString(from));
        if (history) sb.Append(",\"history\":true");
        sb.Append('}');
        if (newline) sb.Append('\n');
        return sb;
    }

    internal static string FrameJson(long? seq, CometMessage m, bool history = false) =>
        FrameJson(seq, m.Channel, m.DataJson, m.Time, m.Event, m.From, history, m.DeltaFields);

    /// <summary>Legacy frame: '&lt;' + encodeURIComponent(json) + '&gt;'.</summary>
    internal static byte[] LegacyFromJson(string json)
    {
        var utf8 = Encoding.UTF8.GetBytes(json);
        var length = 2;
        foreach (var b in utf8) length += b < 128 && Unreserved[b] ? 1 : 3;
        var frame = new byte[length];
        var i = 0;
        frame[i++] = (byte)'<';
        foreach (var b in utf8)
        {
            if (b < 128 && Unreserved[b])
            {
                frame[i++] = b;
            }
            else
            {
                frame[i++] = (byte)'%';
                frame[i++] = Hex[b >> 4];
                frame[i++] = Hex[b & 15];
            }
        }
        frame[i] = (byte)'>';
        return frame;
    }

    /// <summary>v2 frame: one line of JSON ended by '\n'; history frames say so.</summary>
    internal static byte[] V2(CometMessage m, bool history) =>
        FrameText.ToUtf8AndReturn(BuildFrameJson(m.Seq, m.Channel, m.DataJson, m.Time, m.Event, m.From, history, m.DeltaFields, newline: true));

    /// <summary>v2 system frame on channel c4j (no seq).</summary>
    internal static byte[] V2System(string dataJson, long time) =>
        FrameText.ToUtf8AndReturn(BuildFrameJson(null, CometProtocol.SystemChannel, dataJson, time, newline: true));

    /// <summary>
    /// A system frame written in one builder, its data (<c>{"type":…, fields…}</c>) included: no string
    /// of the data nor of the frame on the way (a connect's answer is one of these).
    /// </summary>
    internal static byte[] System(SystemFrameForm form, string type, IDictionary<string, object?>? fields, long time, string? prefix = null)
    {
        var sb = FrameText.Rent(160 + (fields?.Count ?? 0) * 32 + (prefix?.Length ?? 0));
        if (prefix is not null) sb.Append(prefix);
        if (form == SystemFrameForm.SseNamed) sb.Append("event: ").Append(CometProtocol.SystemChannel).Append("\ndata: ");
        else
        {
            if (form == SystemFrameForm.SseUnnamed) sb.Append("data: ");
            sb.Append("{\"channel\":\"").Append(CometProtocol.SystemChannel).Append("\",\"data\":");
        }
        SystemJson.Write(sb, "type", type, fields);
        if (form != SystemFrameForm.SseNamed) sb.Append(",\"time\":").Append(time).Append('}');
        sb.Append(form == SystemFrameForm.V2 ? "\n" : "\n\n");
        return FrameText.ToUtf8AndReturn(sb);
    }

    /// <summary>SSE event: id, event and one data line. JSON has no raw newline, so one line is enough.</summary>
    internal static byte[] Sse(long seq, string channel, string dataJson) =>
        Encoding.UTF8.GetBytes($"id: {seq}\nevent: {channel}\ndata: {dataJson}\n\n");

    /// <summary>SSE event without a name (for clients that read every event through <c>onmessage</c>): id and the whole v2 frame as data.</summary>
    internal static byte[] SseUnnamed(CometMessage m) =>
        Encoding.UTF8.GetBytes($"id: {m.Seq}\ndata: {FrameJson(m.Seq, m)}\n\n");

    /// <summary>SSE system frame without a name: the whole v2 system frame as data (no id).</summary>
    internal static byte[] SseUnnamedSystem(string dataJson, long time) =>
        Encoding.UTF8.GetBytes($"data: {FrameJson(null, CometProtocol.SystemChannel, dataJson, time)}\n\n");

    /// <summary>SSE system event (no id).</summary>
    internal static byte[] SseSystem(string dataJson) =>
        Encoding.UTF8.GetBytes($"event: {CometProtocol.SystemChannel}\ndata: {dataJson}\n\n");
}

/// <summary>How a system frame is framed: a v2 line, a named SSE event (data only), an unnamed SSE event (the whole v2 frame as data).</summary>
internal enum SystemFrameForm
{
    V2,
    SseNamed,
    SseUnnamed,
}
