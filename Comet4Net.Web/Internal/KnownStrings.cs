using System.Net;

namespace Comet4Net.Web.Internal;

/// <summary>
/// One string for the parameter names and values every client sends (<c>cmd</c>, <c>conn</c>,
/// <c>ws</c>, <c>stream</c>...), the request path, and a client address seen a moment ago: a
/// connection keeps its <c>conn</c> request's parameters and address for its whole life, and
/// thousands of copies of the same few words would be kept with them.
/// </summary>
internal static class KnownStrings
{
    private static readonly string[] Words =
    [
        CometProtocol.FlagAction, CometProtocol.FlagClientVersion, CometProtocol.FlagId, CometProtocol.FlagSecret,
        CometProtocol.FlagAck, CometProtocol.FlagWorkStyle, CometProtocol.CmdConnect, CometProtocol.CmdRevival, CometProtocol.CmdDrop,
        "sub", "unsub", "pub", "count", "channel", "channels", "history", "data", "event", "seq", "v", "ep", "names", "token", "callback",
        "stream", "sse", "websocket", "lpool", "auto", "2", "0", "1", "2.0.0", "0.1.7",
    ];

    // Header names and values seen lately, one slot per hash (a newer value takes a slot over): the
    // headers a connection keeps are mostly the same for every client (User-Agent, Accept, Host,
    // Origin...), so each connection need not keep its own copy. Bounded: 4,096 references.
    private const int HeaderSlots = 4096;
    private const int MaxSharedLength = 1024;
    private static readonly string?[] SharedHeaders = new string?[HeaderSlots];

    [ThreadStatic] private static string? t_path;
    [ThreadStatic] private static IPAddress? t_address;
    [ThreadStatic] private static string? t_addressText;

    /// <summary>The shared copy of <paramref name="text"/> if it is one of the usual words, else a new string.</summary>
    internal static string Of(ReadOnlySpan<char> text)
    {
        if (text.Length <= 9)
        {
            foreach (var word in Words)
            {
                if (text.SequenceEqual(word)) return word;
            }
        }
        return text.ToString();
    }

    /// <summary>
    /// <paramref name="text"/>, or an equal string kept a moment ago: for the header names and values
    /// a connection keeps for its life. Slots are read and written without a lock: a lost race only
    /// means one more copy.
    /// </summary>
    internal static string Shared(string text)
    {
        if (text.Length == 0) return string.Empty;
        if (text.Length > MaxSharedLength) return text;
        var slot = (int)((uint)string.GetHashCode(text) % HeaderSlots);
        var kept = Volatile.Read(ref SharedHeaders[slot]);
        if (kept is not null && string.Equals(kept, text, StringComparison.Ordinal)) return kept;
        Volatile.Write(ref SharedHeaders[slot], text);
        return text;
    }

    /// <summary>The request path as one string per thread while it stays the same (it is <c>/conn</c> for nearly every request).</summary>
    internal static string Path(string path)
    {
        var last = t_path;
        if (last is not null && string.Equals(last, path, StringComparison.Ordinal)) return last;
        t_path = path;
        return path;
    }

    /// <summary>The client's address as text, the same string while the same address comes again on this thread.</summary>
    internal static string Address(IPAddress address)
    {
        if (t_addressText is { } text && address.Equals(t_address)) return text;
        text = address.ToString();
        t_address = address;
        t_addressText = text;
        return text;
    }
}
