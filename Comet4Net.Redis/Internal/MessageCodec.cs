using Comet4Net.Delivery;
using Newtonsoft.Json;

namespace Comet4Net.Redis.Internal;

/// <summary>An outgoing message as the stream stores it (JSON; the application data stays the JSON it already is).</summary>
internal static class MessageCodec
{
    private sealed record Stored(string C, string D, long T, string[]? Ids, string? E, string? F, string? U, string? O = null);

    internal static string Encode(OutgoingMessage m) =>
        JsonConvert.SerializeObject(new Stored(m.Channel, m.DataJson, m.Time, m.TargetIds, m.Event, m.From, m.TargetUser, m.Origin));

    internal static OutgoingMessage Decode(string payload)
    {
        var s = JsonConvert.DeserializeObject<Stored>(payload) ?? throw new FormatException("An empty message in the stream.");
        return new OutgoingMessage(s.C, s.D, s.T, s.Ids, s.E, s.F, s.U, s.O);
    }
}
