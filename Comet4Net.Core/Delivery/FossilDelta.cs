namespace Comet4Net.Delivery;

/// <summary>
/// Fossil's delta format (https://fossil-scm.org/home/doc/tip/www/delta_format.wiki), written here:
/// a header (the target's length in base-64 digits and a newline), then commands — <c>N@O,</c> copies
/// N bytes of the base from offset O, <c>N:bytes</c> inserts N literal bytes — and <c>C;</c> where C is
/// the target's checksum. <see cref="Create"/> finds copies with a rolling hash over 16-byte windows of
/// the base; <see cref="Apply"/> checks every command's bounds and the checksum, so a wrong base or a
/// damaged delta is an error, never wrong data.
/// </summary>
/// <remarks>This file is compiled into Comet4Net.Core and, linked, into Comet4Net.Client (which applies deltas).</remarks>
internal static class FossilDelta
{
    private const int Window = 16;
    private const int MaxProbes = 64;
    private static readonly byte[] Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"u8.ToArray();
    private static readonly sbyte[] Values = BuildValues();

    private static sbyte[] BuildValues()
    {
        var values = new sbyte[128];
        Array.Fill(values, (sbyte)-1);
        for (var i = 0; i < Digits.Length; i++) values[Digits[i]] = (sbyte)i;
        return values;
    }

    /// <summary>The delta that turns <paramref name="source"/> into <paramref name="target"/>.</summary>
    internal static byte[] Create(ReadOnlySpan<byte> source, ReadOnlySpan<byte> target)
    {
        var output = new Output(target.Length / 8 + 32);
        output.Int(target.Length);
        output.Byte((byte)'\n');
        var literal = 0;
        if (source.Length > Window && target.Length >= Window)
        {
            var blocks = source.Length / Window;
            var heads = new int[blocks];
            var next = new int[blocks];
            Array.Fill(heads, -1);
            for (var b = 0; b < blocks; b++)
            {
                var h = (int)(new Rolling(source.Slice(b * Window, Window)).Hash % (uint)blocks);
                next[b] = heads[h];
                heads[h] = b;
            }
            var pos = 0;
            var hash = new Rolling(target.Slice(0, Window));
            while (true)
            {
                int bestLength = 0, bestSource = 0, bestTarget = 0;
                var probes = 0;
                for (var b = heads[(int)(hash.Hash % (uint)blocks)]; b >= 0 && probes < MaxProbes; b = next[b], probes++)
                {
                    var s = b * Window;
                    var forward = Common(source[s..], target[pos..]);
                    if (forward < Window) continue; // a hash collision
                    var back = 0;
                    while (s - back > 0 && pos - back > literal && source[s - back - 1] == target[pos - back - 1]) back++;
                    if (back + forward > bestLength)
                    {
                        bestLength = back + forward;
                        bestSource = s - back;
                        bestTarget = pos - back;
                    }
                }
                // A copy is worth it when it is longer than the command that says it.
                if (bestLength > DigitCount(bestLength) + DigitCount(bestSource) + 2)
                {
                    if (bestTarget > literal) output.Insert(target[literal..bestTarget]);
                    output.Int(bestLength);
                    output.Byte((byte)'@');
                    output.Int(bestSource);
                    output.Byte((byte)',');
                    pos = literal = bestTarget + bestLength;
                    if (pos + Window > target.Length) break;
                    hash = new Rolling(target.Slice(pos, Window));
                    continue;
                }
                if (pos + Window >= target.Length) break;
                hash.Roll(target[pos], target[pos + Window]);
                pos++;
            }
        }
        if (literal < target.Length) output.Insert(target[literal..]);
        output.Int(unchecked((int)Checksum(target)));
        output.Byte((byte)';');
        return output.ToArray();
    }

    /// <summary>
    /// <paramref name="source"/> changed by <paramref name="delta"/>. Throws <see cref="InvalidDataException"/>
    /// for a malformed delta, a command past the base or the target's length, a result longer than
    /// <paramref name="maxLength"/>, or a checksum that does not match (the wrong base).
    /// </summary>
    internal static byte[] Apply(ReadOnlySpan<byte> source, ReadOnlySpan<byte> delta, int maxLength = 64 * 1024 * 1024)
    {
        var at = 0;
        var length = ReadInt(delta, ref at);
        if (length > maxLength) throw Bad($"the target is {length} bytes, more than {maxLength}");
        if (at >= delta.Length || delta[at++] != '\n') throw Bad("no newline after the target's length");
        var result = new byte[length];
        var written = 0;
        while (at < delta.Length)
        {
            var number = ReadNumber(delta, ref at);
            if (at >= delta.Length) throw Bad("a command without its operator");
            var count = delta[at] == ';' ? 0 : number <= int.MaxValue ? (int)number : throw Bad("a number out of range");
            switch (delta[at++])
            {
                case (byte)'@':
                    var offset = ReadInt(delta, ref at);
                    if (at >= delta.Length || delta[at++] != ',') throw Bad("a copy without its ','");
                    if ((long)offset + count > source.Length) throw Bad("a copy past the end of the base");
                    if (written + (long)count > length) throw Bad("a copy past the target's length");
                    source.Slice(offset, count).CopyTo(result.AsSpan(written));
                    written += count;
                    break;
                case (byte)':':
                    if (at + (long)count > delta.Length) throw Bad("an insert past the end of the delta");
                    if (written + (long)count > length) throw Bad("an insert past the target's length");
                    delta.Slice(at, count).CopyTo(result.AsSpan(written));
                    written += count;
                    at += count;
                    break;
                case (byte)';':
                    if (written != length) throw Bad($"the target is {written} bytes, the header said {length}");
                    if (Checksum(result) != number) throw Bad("the checksum does not match (not the delta's base)");
                    return result;
                default:
                    throw Bad($"an unknown operator '{(char)delta[at - 1]}'");
            }
        }
        throw Bad("no checksum at the end");
    }

    /// <summary>Fossil's checksum: the sum of the big-endian 32-bit words of <paramref name="data"/>, the last one zero-padded.</summary>
    internal static uint Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        var i = 0;
        for (; i + 4 <= data.Length; i += 4)
            sum += (uint)(data[i] << 24 | data[i + 1] << 16 | data[i + 2] << 8 | data[i + 3]);
        var shift = 24;
        for (; i < data.Length; i++, shift -= 8) sum += (uint)data[i] << shift;
        return sum;
    }

    private static InvalidDataException Bad(string what) => new($"Invalid Fossil delta: {what}.");

    /// <summary>A count or an offset (at most int.MaxValue).</summary>
    private static int ReadInt(ReadOnlySpan<byte> delta, ref int at) =>
        ReadNumber(delta, ref at) is var n and <= int.MaxValue ? (int)n : throw Bad("a number out of range");

    /// <summary>A number of base-64 digits, most significant first (at most 32 bits: a checksum).</summary>
    private static long ReadNumber(ReadOnlySpan<byte> delta, ref int at)
    {
        var start = at;
        long value = 0;
        while (at < delta.Length && delta[at] < 128 && Values[delta[at]] >= 0)
        {
            value = (value << 6) + Values[delta[at++]];
            if (value > uint.MaxValue) throw Bad("a number out of range");
        }
        if (at == start) throw Bad("a number expected");
        return value;
    }

    private static int DigitCount(int value)
    {
        var n = 1;
        while ((value >>= 6) > 0) n++;
        return n;
    }

    private static int Common(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => a.CommonPrefixLength(b);

    /// <summary>An Adler-style rolling hash of a window: the sum of its bytes and the sum of those sums.</summary>
    private struct Rolling
    {
        private uint _a, _b;

        internal Rolling(ReadOnlySpan<byte> window)
        {
            for (var i = 0; i < window.Length; i++)
            {
                _a += window[i];
                _b += (uint)(window.Length - i) * window[i];
            }
        }

        internal readonly uint Hash => (_a & 0xffff) | (_b << 16);

        internal void Roll(byte leaving, byte entering)
        {
            _a += (uint)(entering - leaving);
            _b += _a - Window * (uint)leaving;
        }
    }

    /// <summary>A growing byte buffer for the delta being made.</summary>
    private struct Output(int capacity)
    {
        private byte[] _buffer = new byte[capacity];
        private int _length;

        internal void Byte(byte b)
        {
            if (_length == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
            _buffer[_length++] = b;
        }

        internal void Int(int value)
        {
            Span<byte> digits = stackalloc byte[6];
            var n = 0;
            var v = (uint)value;
            do { digits[n++] = Digits[v & 63]; v >>= 6; } while (v > 0);
            while (n > 0) Byte(digits[--n]);
        }

        internal void Insert(ReadOnlySpan<byte> bytes)
        {
            Int(bytes.Length);
            Byte((byte)':');
            if (_length + bytes.Length > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + bytes.Length));
            bytes.CopyTo(_buffer.AsSpan(_length));
            _length += bytes.Length;
        }

        internal readonly byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();
    }
}
