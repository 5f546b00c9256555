using System.Text;
using Newtonsoft.Json;

namespace Comet4Net.Delivery;

/// <summary>
/// A message of a channel with <see cref="ChannelOptions.Delta"/>: its place in the channel's chain (the
/// previous broadcast of the channel in the log, its base) and its two forms for clients that asked for
/// deltas, each a message of its own whose frames are encoded once and shared by every such client:
/// the full data as a JSON string (<c>"d":0</c>) and the Fossil delta against the base (<c>"d":1,"b":base</c>).
/// Everything is in one object that only messages of delta channels and their forms have: other
/// messages pay one null reference.
/// </summary>
public sealed partial class CometMessage
{
    private DeltaParts? _delta;

    private sealed class DeltaParts
    {
        internal long BaseSeq = -1;      // a chain member: 0 (the first) or its base's number; -1 for a form
        internal string? BaseData;       // the base's data, until the delta is made (then let go)
        internal CometMessage? FullForm;
        internal CometMessage? DeltaForm;
        internal volatile bool Made;
        internal string? Fields;         // a form's fields before data
        internal CometMessage? Original; // a form's message
    }

    /// <summary>-1: not in a delta chain; 0: the first of its chain (no base); otherwise the base's sequence number.</summary>
    internal long DeltaBaseSeq => _delta?.BaseSeq ?? -1;

    /// <summary>For a delta form, the fields said before <c>data</c> (<c>"d":1,"b":6</c> or <c>"d":0</c>); null for a plain message.</summary>
    internal string? DeltaFields => _delta?.Fields;

    /// <summary>For a delta form, the message it is a form of (its named SSE event is the original's: full data).</summary>
    private CometMessage? DeltaOriginal => _delta?.Original;

    /// <summary>Puts the message in its channel's chain, after the broadcast <paramref name="baseSeq"/> whose data is <paramref name="baseData"/> (0, null: the first). Before the message is published.</summary>
    internal void JoinChain(long baseSeq, string? baseData) => _delta = new DeltaParts { BaseSeq = baseSeq, BaseData = baseData };

    /// <summary>The full data as a JSON string, marked <c>"d":0</c>: the client keeps it as the channel's base.</summary>
    internal CometMessage FullForm
    {
        get
        {
            var parts = _delta!;
            return Volatile.Read(ref parts.FullForm)
                ?? Interlocked.CompareExchange(ref parts.FullForm, Form(JsonConvert.ToString(DataJson), "\"d\":0"), null) ?? parts.FullForm!;
        }
    }

    /// <summary>The delta against the base, marked <c>"d":1,"b":base</c>; null when the message has no base or the delta would not be smaller. Made once.</summary>
    internal CometMessage? DeltaForm
    {
        get
        {
            var parts = _delta!;
            if (parts.Made) return parts.DeltaForm;
            lock (parts)
            {
                if (!parts.Made)
                {
                    parts.DeltaForm = MakeDelta(parts);
                    parts.BaseData = null;
                    parts.Made = true;
                }
            }
            return parts.DeltaForm;
        }
    }

    private CometMessage? MakeDelta(DeltaParts parts)
    {
        if (parts.BaseData is not { } basis || parts.BaseSeq <= 0) return null;
        var target = Encoding.UTF8.GetBytes(DataJson);
        var delta = FossilDelta.Create(Encoding.UTF8.GetBytes(basis), target);
        // The delta's bytes as the characters U+0000 to U+00FF of a JSON string (Latin-1): lossless, and
        // plain ASCII for the copies and for the literal bytes of ASCII JSON.
        var literal = JsonConvert.ToString(Encoding.Latin1.GetString(delta));
        var fields = "\"d\":1,\"b\":" + parts.BaseSeq;
        return Encoding.UTF8.GetByteCount(literal) + fields.Length + 1 < target.Length ? Form(literal, fields) : null;
    }

    private CometMessage Form(string data, string fields) =>
        new(Seq, Channel, data, Time, null, Event, From) { _delta = new DeltaParts { Fields = fields, Original = this } };
}
