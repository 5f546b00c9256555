using Comet4Net.Hosting;
using Comet4Net.Web.Internal.Transports;

namespace Comet4Net.Web.Internal;

/// <summary>What the token refresh adds to the wire: the expiry in the <c>conn</c> answer, the <c>token-expired</c> end of an answer.</summary>
internal static class TokenRefresh
{
    internal const string Command = "refresh";

    /// <summary>The <c>type</c> of the system frame that ends an answer past the token's expiry (and a socket's close reason).</summary>
    internal const string ExpiredType = "token-expired";

    /// <summary>Adds <c>expires</c> (unix ms) and <c>ttl</c> (ms left, by the server's clock) for a connection made with a signed token.</summary>
    internal static void AddExpiry(IDictionary<string, object?> fields, CometEngine engine, CometConnection connection)
    {
        var expires = CometHost.TokenExpiresOf(connection);
        if (expires <= 0) return;
        fields["expires"] = expires;
        fields["ttl"] = Math.Max(0, expires - engine.Host.NowMs);
    }

    internal static IDictionary<string, object?> ExpiredFields(CometEngine engine) =>
        new Dictionary<string, object?> { ["message"] = CometErrors.TokenExpired.Text(engine.Context.Options) };

    /// <summary>Ends a v2 answer whose connection's token expired: the <c>token-expired</c> frame, then the sink's end (a socket closes with 1008).</summary>
    internal static async Task EndExpiredAsync(CometHost host, FrameSink sink, CometConnection connection,
        Func<CometHost, FrameSink, ValueTask<bool>, int, long, ValueTask<bool>> send)
    {
        if (sink.Frames.End(EndReason.TokenExpired, connection, sink.Held) is { } last) await send(host, sink, sink.WriteAsync(last), 0, last.Length);
        await sink.EndAsync(EndReason.TokenExpired);
    }
}
