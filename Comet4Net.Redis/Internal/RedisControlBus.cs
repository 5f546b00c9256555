using Comet4Net.Backplane;
using Microsoft.Extensions.Logging;
using Newtonsoft.Json;
using StackExchange.Redis;

namespace Comet4Net.Redis.Internal;

/// <summary>The control bus on Redis: one pub/sub channel; each node acts on what concerns connections it holds.</summary>
internal sealed partial class RedisControlBus(ConnectionMultiplexer redis, RedisKeys keys, RedisCalls calls, string node) : IControlBus
{
    private IControlReceiver? _receiver;

    private RedisChannel ControlChannel => keys.Control;

    /// <inheritdoc />
    public void Start(IControlReceiver receiver)
    {
        if (Interlocked.CompareExchange(ref _receiver, receiver, null) is not null)
            throw new InvalidOperationException("A RedisBackplane serves one engine.");
        redis.GetSubscriber().Subscribe(ControlChannel, (_, value) => OnControl(value));
    }

    /// <inheritdoc />
    public void RequestKick(string? connectionId, string? userId, string? reason) =>
        Publish(new ControlMessage(node, connectionId, userId, reason, Gone: false), "ask the other nodes to kick");

    /// <inheritdoc />
    public void AnnounceGone(string connectionId) => Publish(new ControlMessage(node, connectionId, null, null, Gone: true), "announce a connection gone");

    private void Publish(ControlMessage message, string what) =>
        calls.Try(() => redis.GetSubscriber().Publish(ControlChannel, JsonConvert.SerializeObject(message), CommandFlags.FireAndForget), what);

    /// <summary>A kick request (<see cref="RequestKick"/>) or a connection ended for good (<see cref="AnnounceGone"/>).</summary>
    private sealed record ControlMessage(string Node, string? Cid, string? User, string? Reason, bool Gone);

    private void OnControl(RedisValue value)
    {
        ControlMessage? message;
        try
        {
            message = JsonConvert.DeserializeObject<ControlMessage>((string)value!);
        }
        catch (JsonException)
        {
            return; // not ours: another writer on the channel
        }
        if (message is null || message.Node == node || _receiver is not { } receiver) return;
        if (message.Gone ? message.Cid is null : message.Cid is null && message.User is null) return;
        // Off the Redis reader: kicks run the application's drop listeners (whose failures are logged here, not thrown on the pool).
        ThreadPool.UnsafeQueueUserWorkItem(static s =>
        {
            try
            {
                if (s.Message.Gone) s.Receiver.Forget(s.Message.Cid!);
                else s.Receiver.Kick(s.Message.Cid, s.Message.User, s.Message.Reason);
            }
            catch (Exception e)
            {
                LogControlFailed(s.Logger, e);
            }
        }, (Receiver: receiver, Message: message, Logger: calls.Logger), preferLocal: false);
    }

    [LoggerMessage(EventId = 304, Level = LogLevel.Error, Message = "Comet4Net could not carry out another node's kick or drop on this node")]
    private static partial void LogControlFailed(ILogger logger, Exception exception);
}
