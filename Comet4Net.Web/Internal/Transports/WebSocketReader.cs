using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text;
using Comet4Net.Web.Internal.Commands;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>
/// What the client sends on its socket: <c>{"cmd":"ack","seq":N}</c> and the channel commands
/// (<c>{"cmd":"sub","channel":"a","history":N,"id":1}</c>, <c>unsub</c>, <c>pub</c>, <c>count</c>),
/// each run by the same command class as its HTTP form and answered by one reply frame
/// (<see cref="SocketReply"/>). Anything else, a binary message, or one longer than MaxQueryLength,
/// closes the socket with the reason.
/// </summary>
internal static class WebSocketReader
{
    /// <summary>
    /// ManagedWebSocket reads a frame's header into a 14-byte buffer, which after a frame whose payload
    /// is shorter may already hold the start of the next one: after such a message the next is
    /// received at once, never waited for with a read of the input (it may never come).
    /// </summary>
    private const int ShortFrame = 14;

    /// <summary>Starts reading the client's messages (once the socket is open).</summary>
    internal static void Start(WebSocketSink sink) => _ = RunAsync(sink, resumed: false);

    /// <summary>Bytes arrived for an idle socket (its read of the input completed): read what came.</summary>
    internal static void Resume(WebSocketSink sink) => _ = RunAsync(sink, resumed: true);

    /// <summary>
    /// Receives and runs the client's messages. While the socket is idle (and the connection's input is
    /// known) no call of this runs: a read of the input is pending, and <see cref="Resume"/> runs when
    /// bytes arrive. The receive buffer is rented for those messages only.
    /// </summary>
    private static async Task RunAsync(WebSocketSink sink, bool resumed)
    {
        var socket = sink.Socket;
        var scope = sink.Scope;
        var limit = sink.Engine.Context.Options.MaxQueryLength;
        byte[]? buffer = null;
        var ended = true;
        try
        {
            if (resumed) Unread(sink.Input!, sink.TakePeek()); // throws if the read failed (the connection went away)
            var waitForBytes = !resumed;
            while (socket.State == WebSocketState.Open)
            {
                if (waitForBytes && sink.Input is { } input)
                {
                    var peek = input.ReadAsync();
                    if (!peek.IsCompleted)
                    {
                        ended = false;
                        sink.Park(peek);
                        return;
                    }
                    Unread(input, peek);
                }
                buffer ??= ArrayPool<byte>.Shared.Rent(64); // an ack fits; grows (up to MaxQueryLength) only for a longer command
                var count = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (count == Math.Min(buffer.Length, limit))
                    {
                        if (count >= limit)
                        {
                            await WebSocketSink.CloseAsync(socket, WebSocketCloseStatus.MessageTooBig, CometErrors.SocketTooBig(limit).English);
                            return;
                        }
                        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(limit, buffer.Length * 4));
                        buffer.AsSpan(0, count).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                    result = await socket.ReceiveAsync(buffer.AsMemory(count, Math.Min(buffer.Length, limit) - count), CancellationToken.None);
                    count += result.Count;
                } while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
                if (result.MessageType == WebSocketMessageType.Close) return;
                waitForBytes = result.Count >= ShortFrame;
                var message = result.MessageType == WebSocketMessageType.Text ? Parse(buffer.AsSpan(0, count)) : null;
                if (message?["cmd"] is not { Type: JTokenType.String } cmdToken)
                {
                    await WebSocketSink.CloseAsync(socket, WebSocketCloseStatus.InvalidPayloadData, CometErrors.SocketBadMessage.English);
                    return;
                }
                var cmd = (string)cmdToken!;
                if (!sink.Commands.TryGetValue(cmd, out var command))
                {
                    await WebSocketSink.CloseAsync(socket, WebSocketCloseStatus.InvalidPayloadData, CometErrors.SocketUnknownCommand.English);
                    return;
                }
                var id = message["id"] is { Type: JTokenType.Integer or JTokenType.String } value ? value.ToString() : null;
                var reply = new SocketReply(sink.Engine, socket, scope, sink, id, command.Replies);
                sink.CommandStarts();
                try
                {
                    await command.ExecuteAsync(CommandRequest.FromSocket(cmd, message, reply), sink.Connection);
                }
                finally
                {
                    sink.CommandDone(scope);
                }
                if (reply.Ended) return;
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
        catch (Exception e)
        {
            sink.ReaderFailed(e); // FinishAsync throws it, as an awaited reader's failure did
        }
        finally
        {
            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
            if (ended)
            {
                scope.End(); // the client closed, or broke the rules: the loop stops
                sink.ReaderEnded();
            }
        }
    }

    /// <summary>
    /// A completed read of the connection's input, given back whole (nothing consumed or examined), so the
    /// socket's receive reads the same bytes at once. A read that was cancelled or found the input ended
    /// is given back too: the receive then waits for bytes itself, or sees the end.
    /// </summary>
    private static void Unread(PipeReader input, ValueTask<ReadResult> peek)
    {
        var result = peek.GetAwaiter().GetResult();
        input.AdvanceTo(result.Buffer.Start);
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
}

/// <summary>
/// A command's answer on a socket: one frame <c>{"channel":"c4j","data":{"type":"reply",…,"id":1}}</c>
/// carrying the fields of the HTTP answer, or <c>error</c> and <c>message</c>. A command that does not
/// reply (ack) closes the socket on an error instead (1007, with the reason).
/// </summary>
internal sealed class SocketReply(CometEngine engine, WebSocket socket, RequestScope scope, WebSocketSink sink, string? id, bool replies)
    : CommandReply(engine.Context.Options)
{
    /// <summary>True once the socket was closed, or the reply could not be sent: the reader stops.</summary>
    internal bool Ended { get; private set; }

    internal override async Task ErrorAsync(CometError error, TimeSpan retryAfter = default, object? extra = null)
    {
        if (!replies)
        {
            Ended = true;
            await WebSocketSink.CloseAsync(socket, WebSocketCloseStatus.InvalidPayloadData, error.English);
            return;
        }
        await SendAsync(new Dictionary<string, object?> { ["error"] = error.Code, ["message"] = error.Text(Options) });
    }

    internal override Task FieldsAsync(IDictionary<string, object?> fields) => SendAsync(new Dictionary<string, object?>(fields));

    internal override Task FramesAsync(byte[] ndjson) =>
        SendAsync(new Dictionary<string, object?> { ["ok"] = true, ["frames"] = Encoding.UTF8.GetString(ndjson) });

    private async Task SendAsync(Dictionary<string, object?> reply)
    {
        reply["id"] = id;
        if (!await sink.ReplyAsync(CometResponses.V2System(engine, "reply", reply), scope)) Ended = true;
    }
}
