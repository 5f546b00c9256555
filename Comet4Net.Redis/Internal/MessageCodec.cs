using Comet4Net.Delivery;
using Newtonsoft.Json;

namespace Comet4Net.Redis.Internal;

/// <summary>An outgoing message as the stream stores it (JSON; the application data stays the JSON it already is).</summary>
/// <remarks>
/// Tp / Ts: the send's W3C traceparent / tracestate, written only when the send was traced (an activity was
/// current), so one trace shows a publish on one node and its delivery on another. Entries written before
/// (or by a node that did not trace) have neither and decode as untraced; a node that does not know them ignores them.
/// </remarks>
internal static class MessageCodec
{
    private sealed record Stored(string C, string D, long T, string[]? Ids, string? E, string? F, string? U, string? O = null,
        [property: JsonProperty(NullValueHandling = NullValueHandling.Ignore)] string? Tp = null,
        [property: JsonProperty(NullValueHandling = NullValueHandling.Ignore)] string? Ts = null);

    internal static string Encode(OutgoingMessage m) =>
        JsonConvert.SerializeObject(new Stored(m.Channel, m.DataJson, m.Time, m.TargetIds, m.Event, m.From, m.TargetUser, m.Origin, m.TraceParent, m.TraceState));

    internal static OutgoingMessage Decode(string payload)
    {
        var s = JsonConvert.DeserializeObject<Stored>(payload) ?? throw new FormatException("An empty message in the stream.");
        return new OutgoingMessage(s.C, s.D, s.T, s.Ids, s.E, s.F, s.U, s.O, s.Tp, s.Ts);
    }
}
