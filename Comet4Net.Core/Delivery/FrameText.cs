using System.Buffers;
using System.Text;

namespace Comet4Net.Delivery;

/// <summary>
/// One StringBuilder per thread for the frames and system JSON made on every connect, reply and
/// publication: their text is built in it and turned into a string or UTF-8 bytes, so the builder's
/// buffers are not garbage each time (a connect's answer alone was a few KB of it).
/// </summary>
internal static class FrameText
{
    private const int MaxKept = 8 * 1024; // a builder grown past this (a large publication) is not kept

    [ThreadStatic] private static StringBuilder? t_builder;

    internal static StringBuilder Rent(int capacity)
    {
        var sb = t_builder;
        t_builder = null; // a nested use (there is none today) gets its own
        if (sb is null) return new StringBuilder(Math.Max(capacity, 256));
        sb.Clear();
        sb.EnsureCapacity(capacity);
        return sb;
    }

    internal static string ToStringAndReturn(StringBuilder sb)
    {
        var text = sb.ToString();
        Return(sb);
        return text;
    }

    /// <summary>The builder's text as UTF-8 bytes (no intermediate string).</summary>
    internal static byte[] ToUtf8AndReturn(StringBuilder sb)
    {
        var length = sb.Length;
        var chars = ArrayPool<char>.Shared.Rent(length);
        try
        {
            sb.CopyTo(0, chars, 0, length);
            Return(sb);
            return Encoding.UTF8.GetBytes(chars, 0, length);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    private static void Return(StringBuilder sb)
    {
        if (sb.Capacity <= MaxKept) t_builder = sb;
    }
}
