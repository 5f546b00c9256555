using System.Net.WebSockets;
using System.Text;

namespace Comet4Net.Client.Internal.Transports;

/// <summary>
/// <c>ws=websocket</c>: an upgrade of the revival URL. Each text message holds whole NDJSON frames; after
/// the frames of a message are dispatched the client sends <c>{"cmd":"ack","seq":N}</c>. A socket lives
/// until either side closes it (no <c>dying</c>); an upgrade the path refuses with an HTTP status means it
/// does not carry WebSockets.
/// </summary>
internal sealed class WebSocketTransport : ITransport
{
    public async Task<RunResult> RunAsync(Connector connector, CancellationToken stop)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        foreach (var (name, value) in connector.Options.Headers) socket.Options.SetRequestHeader(name, value);
        if (connector.Options.Cookies is { } cookies) socket.Options.Cookies = cookies;
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(stop);
        watch.CancelAfter(connector.Options.OpenTimeout);
        try
        {
            var url = await connector.UrlAsync(connector.RevivalQuery(CometTransport.WebSocket), watch.Token).ConfigureAwait(false);
            var builder = new UriBuilder(url) { Scheme = url.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" };
            await socket.ConnectAsync(builder.Uri, watch.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or HttpRequestException or IOException || (e is OperationCanceledException && !stop.IsCancellationRequested))
        {
            return Refused(socket, e);
        }
        connector.Opened(CometTransport.WebSocket);
        watch.CancelAfter(connector.Silence);
        var frames = 0;
        var buffer = new byte[16384];
        var message = new MemoryStream();
        var lines = new List<string>();
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, watch.Token).ConfigureAwait(false);
                watch.CancelAfter(connector.Silence);
                if (result.MessageType == WebSocketMessageType.Close)
                    return new(RunKind.NetworkFailure, true, frames, Message: $"closed by the server: {socket.CloseStatus} {socket.CloseStatusDescription}");
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage) continue;
                lines.Clear();
                var splitter = new LineSplitter();
                splitter.Push(message.GetBuffer().AsSpan(0, (int)message.Length), lines);
                splitter.Push("\n"u8, lines);
                message.SetLength(0);
                var before = connector.LastSeq;
                foreach (var line in lines)
                {
                    var kind = await connector.HandleLineAsync(line, stop).ConfigureAwait(false);
                    if (kind != FrameKind.Invalid && line.Length > 0) frames++;
                    if (connector.After(kind, true, frames) is { } end) return end;
                }
                if (connector.LastSeq > before)
                {
                    var ack = Encoding.UTF8.GetBytes($"{{\"cmd\":\"ack\",\"seq\":{connector.LastSeq}}}");
                    await socket.SendAsync(ack, WebSocketMessageType.Text, true, watch.Token).ConfigureAwait(false);
                }
                watch.CancelAfter(connector.Silence);
            }
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            return new(RunKind.NetworkFailure, true, frames, Message: "silent past the heartbeat");
        }
        catch (Exception e) when (e is WebSocketException or IOException)
        {
            return new(RunKind.NetworkFailure, true, frames, Message: e.Message);
        }
        finally
        {
            socket.Abort();
        }
    }

    /// <summary>An upgrade that failed: the server's answer if it gave one, else the network.</summary>
    private static RunResult Refused(ClientWebSocket socket, Exception e)
    {
        var status = (int)socket.HttpStatusCode;
        TimeSpan? retryAfter = null;
        if (socket.HttpResponseHeaders?.TryGetValue("Retry-After", out var values) == true
            && int.TryParse(values.FirstOrDefault(), out var seconds)) retryAfter = TimeSpan.FromSeconds(seconds);
        return status switch
        {
            0 or 101 => new(RunKind.NetworkFailure, Message: e.Message),
            404 => new(RunKind.UnknownConnection),
            410 => new(RunKind.AskByPolling), // a long poll gets the 410 with its reason
            429 or 503 => new(RunKind.Unavailable, RetryAfter: retryAfter, Message: $"HTTP {status}"),
            401 or 403 => new(RunKind.Refused, Message: $"HTTP {status}"),
            _ => new(RunKind.NotCarried, Message: $"the upgrade was answered {status}"),
        };
    }
}
