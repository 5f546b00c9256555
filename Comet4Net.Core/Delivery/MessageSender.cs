using Comet4Net.Backplane;
using Comet4Net.Diagnostics;
using Comet4Net.Events;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Delivery;

/// <summary>
/// The sending side of the engine: serialises the application's data once, asks the message
/// listeners, and appends to the shared log. Never waits for a client.
/// </summary>
internal sealed class MessageSender(CometEngine engine, ISharedLog log, LocalDelivery delivery, EngineCounters counters)
{
    private CometOptions Options => engine.Options;

    /// <summary>
    /// Appends a broadcast (already serialised). It takes its place in the send order before this
    /// returns; the task completes with it numbered (number 0: dropped while it waited for the backplane).
    /// </summary>
    internal ValueTask<CometMessage> Broadcast(string channel, string? eventName, string json, string? from, string? idempotencyKey = null)
    {
        var (traceParent, traceState) = CometTracing.CurrentContext();
        return Appended(log.AppendAsync(new OutgoingMessage(channel, json, engine.NowMs, null, eventName, from, TraceParent: traceParent, TraceState: traceState,
            IdempotencyKey: idempotencyKey, IdempotencyWindow: idempotencyKey is null ? 0 : Options.IdempotencyWindow)));
    }

    /// <summary>
    /// Sends one message to several connections: stored once, queued for each that the message
    /// listeners let through. Returns how many it was queued for, known at once, and the append
    /// (in the send order already; completes when numbered).
    /// </summary>
    internal (int Reached, ValueTask<CometMessage> Appended) SendPrivate(string channel, IEnumerable<CometConnection> connections, object? data, string? user = null)
    {
        var json = Serialize(data);
        var targets = new List<string>();
        foreach (var c in connections)
        {
            if (c is null || c.State == ConnectionState.Dropped || !ReferenceEquals(c.Engine, engine)) continue;
            if (!engine.Bus.Fire(new MessageEvent(engine, c, channel, data))) continue;
            targets.Add(c.Id);
        }
        if (targets.Count == 0 && user is null) return (0, default);
        var (traceParent, traceState) = CometTracing.CurrentContext();
        return (targets.Count, Appended(log.AppendAsync(new OutgoingMessage(channel, json, engine.NowMs, targets.ToArray(), TargetUser: user, Origin: engine.NodeId,
            TraceParent: traceParent, TraceState: traceState))));
    }

    /// <summary>A message for a connection that is away (its session kept for resume): delivered when it comes back. Null if a listener cancelled it.</summary>
    internal ValueTask<CometMessage>? SendAway(string channel, string connectionId, object? data)
    {
        var json = Serialize(data);
        if (!engine.Bus.Fire(new MessageEvent(engine, null, channel, data))) return null;
        var (traceParent, traceState) = CometTracing.CurrentContext();
        return Appended(log.AppendAsync(new OutgoingMessage(channel, json, engine.NowMs, [connectionId], TraceParent: traceParent, TraceState: traceState)), overflows: false);
    }

    /// <summary>
    /// What a send that does not wait returns: the number if the backplane numbered the message
    /// already (in memory it always has), else 0; the send goes on in order, and a failure is logged.
    /// </summary>
    internal long NumberNow(ValueTask<CometMessage> appended)
    {
        if (appended.IsCompletedSuccessfully) return appended.Result.Seq;
        appended.AsTask().ContinueWith(static (t, logger) => CometLog.SendFailed((Microsoft.Extensions.Logging.ILogger)logger!, t.Exception!.GetBaseException()),
            engine.Logger, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return 0;
    }

    /// <summary>Counts a send once appended, and handles the overflows it caused (this node's receiver has it by then).</summary>
    private ValueTask<CometMessage> Appended(ValueTask<CometMessage> pending, bool overflows = true)
    {
        if (pending.IsCompletedSuccessfully) return new(Sent(pending.Result, overflows));
        return Awaited(pending, overflows);

        async ValueTask<CometMessage> Awaited(ValueTask<CometMessage> p, bool o) => Sent(await p.ConfigureAwait(false), o);
    }

    private CometMessage Sent(CometMessage message, bool overflows)
    {
        counters.AddSent(1);
        if (overflows) HandleOverflows();
        return message;
    }

    /// <summary>Connections whose private queue passed its limit: counted, told (gap) or ended (policy drop).</summary>
    internal void HandleOverflows()
    {
        while (delivery.TryTakeOverflow(out var overflow))
        {
            var (connection, dropped) = overflow;
            var policy = Options.Overflow();
            counters.AddPendingDropped(dropped);
            counters.AddLimitHit();
            counters.AddOverflow();
            CometLog.Overflow(engine.Logger, connection.Id, dropped, policy);
            var drop = policy == CometOverflowPolicy.Drop;
            CometTracing.Event(CometDiagnostics.OverflowSpan, connection, (dropped, drop), static (span, s) =>
            {
                span.SetTag("comet.overflow.dropped", s.dropped);
                span.SetTag("comet.overflow.policy", s.drop ? "drop" : "gap");
            });
            if (drop) engine.Lifecycle.Remove(connection, DropReason.Overflow, Options.Text("too many messages waiting", "待发送消息过多"));
            engine.Bus.Fire(new OverflowEvent(engine, connection, dropped, drop));
        }
    }

    /// <summary>The application's data as JSON, checked against MaxMessageBytes.</summary>
    internal string Serialize(object? data)
    {
        var json = data switch
        {
            null => "null",
            string s => JsonConvert.ToString(s),
            JToken t => t.ToString(Formatting.None),
            _ => JsonConvert.SerializeObject(data, Options.SerializerSettings),
        };
        if (json.Length > Options.MaxMessageBytes)
        {
            counters.AddLimitHit();
            throw new ArgumentException(
                $"The message is {json.Length} characters of JSON, more than Comet:MaxMessageBytes ({Options.MaxMessageBytes}).", nameof(data));
        }
        return json;
    }
}
