using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Timeouts;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>
/// Accepts a websocket revival (a request that <c>IsWebSocketRequest</c> already checked). An HTTP/1.1
/// upgrade is answered here, so the socket's stream is known: <see cref="WebSocketReader"/> then waits
/// for the client's bytes with a zero-byte read of it while the socket is idle, instead of a pending
/// receive (the socket's and Kestrel's read states, about 700 bytes per socket), and rents its buffer
/// only when a message arrives. Another upgrade (HTTP/2's extended CONNECT) goes through ASP.NET Core's
/// middleware, and its reader keeps a receive pending.
/// </summary>
internal static class WebSocketAccept
{
    /// <summary>The socket, and the stream below it when this accept upgraded the request itself (null otherwise).</summary>
    internal static async ValueTask<(WebSocket Socket, Stream? Transport)> AcceptAsync(HttpContext http)
    {
        // No keep-alive pings of the socket's own (a timer per socket): the v2 heartbeats keep it alive.
        var upgrade = http.Features.Get<IHttpUpgradeFeature>();
        var key = http.Request.Headers.SecWebSocketKey.ToString();
        if (upgrade is not { IsUpgradableRequest: true } || !HttpMethods.IsGet(http.Request.Method) || key.Length == 0)
            return (await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = TimeSpan.Zero }), null);
        var headers = http.Response.Headers;
        headers.Connection = "Upgrade";
        headers.Upgrade = "websocket";
        headers.SecWebSocketAccept = AcceptKey(key);
        var stream = await upgrade.UpgradeAsync(); // 101 Switching Protocols
        http.Features.Get<IHttpRequestTimeoutFeature>()?.DisableTimeout();
        return (WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero }), stream);
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
