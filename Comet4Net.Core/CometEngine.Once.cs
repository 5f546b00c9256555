using Comet4Net.Delivery;
using Comet4Net.Diagnostics;

namespace Comet4Net;

/// <summary>Sending once: a broadcast with an idempotency key is appended once within the window, however often it is sent.</summary>
public sealed partial class CometEngine
{
    private IdempotencyWindow? _once;

    /// <summary>This node's idempotency keys (made on first use: an application that sends no key pays nothing).</summary>
    internal IdempotencyWindow Once => Volatile.Read(ref _once) ?? MakeOnce();

    private IdempotencyWindow MakeOnce() =>
        Interlocked.CompareExchange(ref _once, new IdempotencyWindow(() => NowMs, Options.IdempotencyWindow, Options.MaxIdempotencyKeys), null) ?? _once!;

    /// <summary>
    /// <see cref="SendToAll(string, string?, object?)"/> with an idempotency key: a second send with the same
    /// key on the same channel within Comet:IdempotencyWindow (on Redis: on any node) is not appended again.
    /// Returns as <see cref="SendToAll(string, object?)"/>: on one node the number (the first send's for a
    /// repeat), on Redis 0 (<see cref="SendToAllAsync(string, string?, object?, string?)"/> gives it).
    /// </summary>
    /// <param name="channel">The channel.</param>
    /// <param name="eventName">The event within the channel, or null.</param>
    /// <param name="data">The data.</param>
    /// <param name="idempotencyKey">1 to 64 characters of A-Z a-z 0-9 - _ . : (null: an ordinary send).</param>
    public long SendToAll(string channel, string? eventName, object? data, string? idempotencyKey)
    {
        if (idempotencyKey is null) return SendToAll(channel, eventName, data);
        var sent = SendToAllOnceAsync(channel, eventName, data, idempotencyKey);
        if (sent.IsCompletedSuccessfully) return sent.Result.Seq;
        sent.ContinueWith(static (t, logger) => CometLog.SendFailed((Microsoft.Extensions.Logging.ILogger)logger!, t.Exception!.GetBaseException()),
            Logger, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return 0;
    }

    /// <summary>
    /// <see cref="SendToAllAsync(string, string?, object?)"/> with an idempotency key (see
    /// <see cref="SendToAll(string, string?, object?, string?)"/>): completes with the message's number, for a
    /// repeat within the window the first send's (0 if a message listener cancelled it).
    /// </summary>
    public async Task<long> SendToAllAsync(string channel, string? eventName, object? data, string? idempotencyKey)
    {
        if (idempotencyKey is null) return await SendToAllAsync(channel, eventName, data).ConfigureAwait(false);
        return (await SendToAllOnceAsync(channel, eventName, data, idempotencyKey).ConfigureAwait(false)).Seq;
    }

    private Task<(long Seq, bool Duplicate)> SendToAllOnceAsync(string channel, string? eventName, object? data, string key)
    {
        CheckChannel(channel);
        if (eventName is not null) CheckChannel(eventName);
        if (!IdempotencyKeys.IsValid(key))
            throw new ArgumentException($"An idempotency key is 1 to {IdempotencyKeys.MaxLength} characters from A-Z a-z 0-9 - _ . :", "idempotencyKey");
        return AppendOnceAsync(IdempotencyKeys.ForServer(channel, key), scoped =>
        {
            using var span = CometTracing.StartSend("broadcast", channel);
            var json = Sender.Serialize(data);
            if (!Bus.Fire(new Events.MessageEvent(this, null, channel, data))) return null;
            return Sender.Broadcast(channel, eventName, json, null, scoped);
        });
    }

    /// <summary>
    /// Appends once per scoped key: a key this node holds within the window is answered with its publish's
    /// number (awaited if still on its way) and marked a duplicate; otherwise <paramref name="append"/> runs
    /// (null: it was refused or cancelled, and the key is free again) and the shared log decides (on Redis, the
    /// key may have been seen by another node: the log answers a repeat). Number 0: not appended.
    /// </summary>
    internal async Task<(long Seq, bool Duplicate)> AppendOnceAsync(string scopedKey, Func<string, ValueTask<CometMessage>?> append)
    {
        while (true)
        {
            if (!Once.TryTake(scopedKey, out var entry))
            {
                var first = await entry.Seq.Task.ConfigureAwait(false);
                if (first > 0) return (first, true);
                continue; // the publish that held the key was not appended: this one tries for itself
            }
            try
            {
                if (append(scopedKey) is not { } pending)
                {
                    Once.Release(entry);
                    return (0, false);
                }
                var message = await pending.ConfigureAwait(false);
                Once.Complete(entry, message.Seq);
                return (message.Seq, message.IsDuplicate);
            }
            catch
            {
                Once.Release(entry);
                throw;
            }
        }
    }
}
