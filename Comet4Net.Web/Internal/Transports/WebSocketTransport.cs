using System.Net.WebSockets;
using System.Text;
using Comet4Net.Delivery;
using Microsoft.AspNetCore.Http;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>
/// The <c>websocket</c> work style: the v2 frames of <c>stream</c> (NDJSON lines, a <c>gap</c> notice
/// first when needed, <c>hb</c> when idle), one text message per write; the client sends
/// <c>{"cmd":"ack","seq":N}</c> back on the socket so the server can forget what it has, and may
/// send its channel commands there too (<see cref="SocketCommands"/>). A resume is a new socket
/// opened with <c>cmd=revival&amp;ack=N</c>, as for every other style.
/// </summary>
internal static class WebSocketTransport
{
    private const int MaxBatch = 500;

    internal static async Task RunAsync(CometEngine engine, CometConnection connection, HttpContext http, long ack)
    {
        // No keep-alive pings of the socket's own (a timer per socket): the v2 heartbeats keep it alive.
        using var socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = TimeSpan.Zero });
        connection.Pending.RemoveThrough(ack);
        using var scope = await RequestScope.StartAsync(engine, connection, http, timeout: false);
        var frames = new V2Frames(engine);
        using var sending = new SemaphoreSlim(1, 1); // one send at a time: the writer's frames, the reader's replies
        var reading = ReadAsync(engine, connection, socket, scope, sending);
        var sendTimeout = TimeSpan.FromMilliseconds(engine.Options.SendTimeout);
        var batch = new List<CometMessage>();
        var cursor = engine.CursorAfter(connection, ack);
        var heartbeatEvery = engine.Options.Heartbeat > 0 ? TimeSpan.FromMilliseconds(engine.Options.Heartbeat / 2.0) : TimeSpan.MaxValue;
        var lastWrite = engine.Timestamp;
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var signals = scope.Signals();
                batch.Clear();
                var gap = engine.Collect(connection, ref cursor, batch, MaxBatch);
                if (batch.Count > 0 || gap is not null)
                {
                    if (scope.Reason == EndReason.Superseded) break;
                    var gapFrame = gap is { } g ? frames.Gap(g) : null;
                    var length = gapFrame?.Length ?? 0;
                    foreach (var m in batch) length += frames.Frame(m).Length;
                    bool sent;
                    if (gapFrame is null && batch.Count == 1)
                    {
                        sent = await SendAsync(socket, frames.Frame(batch[0]), sendTimeout, engine, sending); // the shared frame itself, no copy
                    }
                    else
                    {
                        // Several frames in one message: a pooled buffer for this write only (nothing kept per connection).
                        var buffer = ArrayPool<byte>.Shared.Rent(length);
                        var at = 0;
                        if (gapFrame is not null) { gapFrame.CopyTo(buffer, at); at += gapFrame.Length; }
                        foreach (var m in batch) { var f = frames.Frame(m); f.CopyTo(buffer, at); at += f.Length; }
                        sent = await SendAsync(socket, buffer.AsMemory(0, at), sendTimeout, engine, sending);
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                    if (!sent) return;
                    engine.Counters.AddWritten(batch.Count, length);
                    lastWrite = engine.Timestamp;
                    continue;
                }
                if (scope.IsEnded)
                {
                    if (frames.End(scope.Reason, connection, held: true) is { } last) await SendAsync(socket, last, sendTimeout, engine, sending);
                    break;
                }
                if (engine.Elapsed(lastWrite) >= heartbeatEvery)
                {
                    if (!await SendAsync(socket, frames.Heartbeat()!, sendTimeout, engine, sending)) return;
                    lastWrite = engine.Timestamp;
                }
                await scope.WaitAsync(signals, heartbeat: heartbeatEvery != TimeSpan.MaxValue);
            }
            await CloseAsync(socket, scope.Reason == EndReason.Dropped ? WebSocketCloseStatus.PolicyViolation : WebSocketCloseStatus.NormalClosure);
        }
        finally
        {
            scope.End();
            // The reader holds no token (a token source per idle socket): it ends with the client's
            // close reply, or when the socket is aborted because none came.
            if (!reading.IsCompleted)
            {
                try
                {
                    await reading.WaitAsync(CloseWait);
                }
                catch (TimeoutException)
                {
                    socket.Abort();
                }
            }
            await reading;
        }
    }

    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(2);

    /// <summary>One text message, given up after SendTimeout (a client that does not read must not hold its writer).</summary>
    internal static async Task<bool> SendAsync(WebSocket socket, ReadOnlyMemory<byte> message, TimeSpan timeout, CometEngine engine, SemaphoreSlim sending)
    {
        try
        {
            if (!await sending.WaitAsync(timeout)) throw new TimeoutException();
            try
            {
                await socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).AsTask().WaitAsync(timeout);
            }
            finally
            {
                sending.Release();
            }
            return true;
        }
        catch (TimeoutException)
        {
            engine.Counters.AddLimitHit();
            socket.Abort();
            return false;
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>
    /// What the client sends: <c>{"cmd":"ack","seq":N}</c> and the channel commands. Anything else,
    /// or a message larger than MaxQueryLength, or a binary one, closes the socket with the reason.
    /// </summary>
    private static async Task ReadAsync(CometEngine engine, CometConnection connection, WebSocket socket, RequestScope scope, SemaphoreSlim sending)
    {
        var commands = new SocketCommands(engine, connection);
        var sendTimeout = TimeSpan.FromMilliseconds(engine.Options.SendTimeout);
        var limit = engine.Options.MaxQueryLength;
        var buffer = new byte[64]; // an ack fits; grows (up to MaxQueryLength) only for a longer command
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var count = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (count == buffer.Length)
                    {
                        if (buffer.Length >= limit)
                        {
                            await CloseAsync(socket, WebSocketCloseStatus.MessageTooBig, $"A message is longer than {limit} bytes.");
                            return;
                        }
                        Array.Resize(ref buffer, Math.Min(limit, buffer.Length * 4));
                    }
                    result = await socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                    count += result.Count;
                } while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
                if (result.MessageType == WebSocketMessageType.Close) return;
                var message = result.MessageType == WebSocketMessageType.Text ? Parse(buffer.AsSpan(0, count)) : null;
                if (message is null || (string?)message["cmd"] is not { } cmd)
                {
                    await CloseAsync(socket, WebSocketCloseStatus.InvalidPayloadData, "Expected a text message {\"cmd\":\"ack\",\"seq\":N} or a channel command.");
                    return;
                }
                if (cmd == "ack")
                {
                    if (message["seq"] is not { Type: JTokenType.Integer } value || (long)value < 0)
                    {
                        await CloseAsync(socket, WebSocketCloseStatus.InvalidPayloadData, "'seq' must be a whole number, 0 or more.");
                        return;
                    }
                    connection.Pending.RemoveThrough((long)value);
                    continue;
                }
                if (commands.Answer(cmd, message) is not { } reply)
                {
                    await CloseAsync(socket, WebSocketCloseStatus.InvalidPayloadData, "Unknown cmd: expected ack, sub, unsub, pub or count.");
                    return;
                }
                if (!await SendAsync(socket, reply, sendTimeout, engine, sending)) return;
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            scope.End(); // the client closed, or broke the rules: the writer stops
        }
    }

    private static JObject? Parse(ReadOnlySpan<byte> text)
    {
        try
        {
            return JToken.Parse(Encoding.UTF8.GetString(text)) as JObject;
        }
        catch (Newtonsoft.Json.JsonException)
        {
            return null;
        }
    }

    private static async Task CloseAsync(WebSocket socket, WebSocketCloseStatus status, string? reason = null)
    {
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await socket.CloseOutputAsync(status, reason, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (Exception e) when (e is WebSocketException or IOException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}
