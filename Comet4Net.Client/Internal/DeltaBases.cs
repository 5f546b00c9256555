using System.Text;
using System.Text.Json;
using Comet4Net.Delivery;

namespace Comet4Net.Client.Internal;

/// <summary>
/// Fossil deltas (<see cref="CometClientOptions.Delta"/>, docs/protocol.md "Deltas"): the last whole
/// data of each delta channel, and frames marked <c>d</c> rebuilt from it. A frame whose base is not
/// held, or whose delta does not apply (its checksum), is not dispatched: the connector resumes from
/// its position, and the server, that position not confirming the delta's base, sends it whole.
/// </summary>
internal sealed class DeltaBases
{
    private readonly Dictionary<string, (long Seq, byte[] Utf8)> _bases = new(StringComparer.Ordinal);

    /// <summary>
    /// For a frame with <c>d</c>: replaces <paramref name="data"/> (the whole JSON as a string, or a delta
    /// against the frame's <c>b</c>) by the data it stands for. False: it cannot (resync).
    /// </summary>
    internal bool TryRebuild(string channel, long? seq, JsonElement frame, ref JsonElement data)
    {
        lock (_bases)
        {
            try
            {
                if (seq is not { } s || data.ValueKind != JsonValueKind.String) throw new InvalidDataException("a delta frame without seq or string data");
                var kind = frame.GetProperty("d").GetInt32();
                byte[] utf8;
                if (kind == 0) utf8 = Encoding.UTF8.GetBytes(data.GetString()!);
                else if (_bases.TryGetValue(channel, out var b) && frame.TryGetProperty("b", out var bs) && bs.ValueKind == JsonValueKind.Number && bs.GetInt64() == b.Seq)
                    utf8 = FossilDelta.Apply(b.Utf8, Encoding.Latin1.GetBytes(data.GetString()!));
                else throw new InvalidDataException("the delta's base is not held");
                using var doc = JsonDocument.Parse(utf8);
                data = doc.RootElement.Clone();
                _bases[channel] = (s, utf8);
                return true;
            }
            catch (Exception e) when (e is InvalidDataException or JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
            {
                _bases.Remove(channel);
                return false;
            }
        }
    }
}
