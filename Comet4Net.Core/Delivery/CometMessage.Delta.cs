using System.Text;
using Newtonsoft.Json;

namespace Comet4Net.Delivery;

/// <summary>
/// A message of a channel with <see cref="ChannelOptions.Delta"/>: its place in the channel's chain (the
/// previous broadcast of the channel in the log, its base) and its two forms for clients that asked for
/// deltas, each a message of its own whose frames are encoded once and shared by every such client:
/// the full data as a JSON string (<c>"d":0</c>) and the Fossil delta against the base (<c>"d":1,"b":base</c>).
/// </summary>
public sealed partial class CometMessage
{
    private string? _deltaBase;   // the base's data, until the delta is made (then let go)
    private CometMessage? _fullForm;
    private CometMessage? _deltaForm;
    private volatile bool _deltaMade;

    /// <summary>-1: not in a delta chain; 0: the first of its chain (no base); otherwise the base's sequence number.</summary>
    internal long DeltaBaseSeq { get; private set; } = -1;

    /// <summary>For a delta form, the fields said before <c>data</c> (<c>"d":1,"b":6</c> or <c>"d":0</c>); null for a plain message.</summary>
    internal string? DeltaFields { get; private init; }

    /// <summary>For a delta form, the message it is a form of (its named SSE event is the original's: full data).</summary>
    private CometMessage? DeltaOriginal { get; init; }

    /// <summary>Puts the message in its channel's chain, after the broadcast <paramref name="baseSeq"/> whose data is <paramref name="baseData"/> (0, null: the first).</summary>
    internal void JoinChain(long baseSeq, string? baseData)
    {
        _deltaBase = baseData;
        DeltaBaseSeq = baseSeq;
    }

    /// <summary>The full data as a JSON string, marked <c>"d":0</c>: the client keeps it as the channel's base.</summary>
    internal CometMessage FullForm =>
        Volatile.Read(ref _fullForm) ?? Interlocked.CompareExchange(ref _fullForm, Form(JsonConvert.ToString(DataJson), "\"d\":0"), null) ?? _fullForm!;

    /// <summary>The delta against the base, marked <c>"d":1,"b":base</c>; null when the message has no base or the delta would not be smaller. Made once.</summary>
    internal CometMessage? DeltaForm
    {
        get
        {
            if (_deltaMade) return _deltaForm;
            lock (this) // once per message; nothing else locks a message
            {
                if (!_deltaMade)
                {
                    _deltaForm = MakeDelta();
                    _deltaBase = null;
                    _deltaMade = true;
                }
            }
            return _deltaForm;
        }
    }

    private CometMessage? MakeDelta()
    {
        if (_deltaBase is not { } basis || DeltaBaseSeq <= 0) return null;
        var target = Encoding.UTF8.GetBytes(DataJson);
        var delta = FossilDelta.Create(Encoding.UTF8.GetBytes(basis), target);
        // The delta's bytes as the characters U+0000 to U+00FF of a JSON string (Latin-1): lossless, and
        // plain ASCII for the copies and for the literal bytes of ASCII JSON.
        var literal = JsonConvert.ToString(Encoding.Latin1.GetString(delta));
        var fields = "\"d\":1,\"b\":" + DeltaBaseSeq;
        return Encoding.UTF8.GetByteCount(literal) + fields.Length + 1 < target.Length ? Form(literal, fields) : null;
    }

    private CometMessage Form(string data, string fields) =>
        new(Seq, Channel, data, Time, null, Event, From) { DeltaFields = fields, DeltaOriginal = this };
}
