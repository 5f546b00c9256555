using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Timeouts;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>
/// Accepts a websocket revival (a request that <c>IsWebSocketRequest</c> already checked). An HTTP/1.1
/// upgrade is answered here, so the connection's input below the socket is known: <see cref="WebSocketReader"/>
/// then waits for the client's bytes by reading that pipe (consuming nothing) while the socket is idle,
/// instead of a pending receive (the socket's and Kestrel's read states, about 700 bytes per socket) or
/// a zero-byte read of the upgraded stream (Kestrel's two read state machines, 440 bytes), and rents
/// its buffer only when a message arrives. HTTP/2's extended CONNECT goes through ASP.NET Core's
/// middleware (added for HTTP/2 requests only), and its reader keeps a receive pending.
/// </summary>
internal static class WebSocketAccept
{
    /// <summary>
    /// An RFC 6455 opening handshake on HTTP/1.1 (GET, <c>Connection: Upgrade</c>, <c>Upgrade: websocket</c>,
    /// version 13, a key of 16 bytes), or what ASP.NET Core's middleware says of another protocol's
    /// (it runs for HTTP/2 requests only: on HTTP/1.1 its feature would stay with every held answer).
    /// </summary>
    internal static bool IsWebSocketRequest(HttpContext http)
    {
        if (http.Features.Get<IHttpWebSocketFeature>() is { } feature) return feature.IsWebSocketRequest;
        var request = http.Request;
        if (!HttpMethods.IsGet(request.Method) || http.Features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true }) return false;
        var headers = request.Headers;
        Span<byte> key = stackalloc byte[16];
        return HasToken(headers.Connection, "Upgrade") && HasToken(headers.Upgrade, "websocket") && headers.SecWebSocketVersion == "13"
               && Convert.TryFromBase64String(headers.SecWebSocketKey.ToString(), key, out var length) && length == 16;
    }

    private static bool HasToken(Microsoft.Extensions.Primitives.StringValues values, string token)
    {
        foreach (var value in values)
        {
            var text = value.AsSpan();
            foreach (var part in text.Split(','))
                if (text[part].Trim().Equals(token, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    /// <summary>
    /// The socket, and the connection's input pipe below it when this accept upgraded the request itself
    /// (null otherwise). The upgraded stream reads that pipe and keeps nothing of its own between reads,
    /// so a read of the pipe that consumes nothing leaves the socket's next receive as it was.
    /// </summary>
    internal static async ValueTask<(WebSocket Socket, PipeReader? Input)> AcceptAsync(HttpContext http)
    {
        // No keep-alive pings of the socket's own (a timer per socket): the v2 heartbeats keep it alive.
        if (http.Features.Get<IHttpWebSocketFeature>() is { } feature)
            return (await feature.AcceptAsync(new WebSocketAcceptContext { KeepAliveInterval = TimeSpan.Zero }), null);
        var upgrade = http.Features.Get<IHttpUpgradeFeature>()!;
        var key = http.Request.Headers.SecWebSocketKey.ToString();
        var headers = http.Response.Headers;
        headers.Connection = "Upgrade";
        headers.Upgrade = "websocket";
        headers.SecWebSocketAccept = AcceptKey(key);
        var stream = await upgrade.UpgradeAsync(); // 101 Switching Protocols
        http.Features.Get<IHttpRequestTimeoutFeature>()?.DisableTimeout();
        var input = http.Features.Get<IConnectionTransportFeature>()?.Transport.Input; // Kestrel's connection (TLS included): what the stream reads
        return (WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero }), input);
    }

    /// <summary>RFC 6455 §4.2.2: base64 of the SHA-1 of the client's key and the protocol's GUID.</summary>
    internal static string AcceptKey(string key)
    {
        Span<byte> input = stackalloc byte[Encoding.ASCII.GetMaxByteCount(key.Length) + 36];
        var length = Encoding.ASCII.GetBytes(key, input);
        length += Encoding.ASCII.GetBytes("258EAFA5-E914-47DA-95CA-C5AB0DC85B11", input[length..]);
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
        SHA1.HashData(input[..length], hash);
        return Convert.ToBase64String(hash);
    }
}
