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
    internal static async Task RunAsync(CometEngine engine, CometConnection connection, WebSocket socket, RequestScope scope, WebSocketSink sink,
        IReadOnlyDictionary<string, IConnectionCommand> commands)
    {
        var limit = engine.Context.Options.MaxQueryLength;
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
                            await WebSocketSink.CloseAsync(socket, WebSocketCloseStatus.MessageTooBig, CometErrors.SocketTooBig(limit).English);
                            return;
                        }
                        Array.Resize(ref buffer, Math.Min(limit, buffer.Length * 4));
                    }
                    result = await socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                    count += result.Count;
                } while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
                if (result.MessageType == WebSocketMessageType.Close) return;
                var message = result.MessageType == WebSocketMessageType.Text ? Parse(buffer.AsSpan(0, count)) : null;
                if (message?["cmd"] is not { Type: JTokenType.String } cmdToken)
                {
                    await WebSocketSink.CloseAsync(socket, WebSocketCloseStatus.InvalidPayloadData, CometErrors.SocketBadMessage.English);
                    return;
                }
                var cmd = (string)cmdToken!;
                if (!commands.TryGetValue(cmd, out var command))
                {
                    await WebSocketSink.CloseAsync(socket, WebSocketCloseStatus.InvalidPayloadData, CometErrors.SocketUnknownCommand.English);
                    return;
                }
                var id = message["id"] is { Type: JTokenType.Integer or JTokenType.String } value ? value.ToString() : null;
                var reply = new SocketReply(engine, socket, scope, sink, id, command.Replies);
                sink.CommandStarts();
                try
                {
                    await command.ExecuteAsync(CommandRequest.FromSocket(cmd, message, reply), connection);
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
        finally
        {
            scope.End(); // the client closed, or broke the rules: the loop stops
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
