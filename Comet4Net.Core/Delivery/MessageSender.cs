using Comet4Net.Backplane;
using Comet4Net.Diagnostics;
using Comet4Net.Events;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Delivery;

/// <summary>
/// The sending side of the engine: serialises the application's data once, asks the message
/// listeners, and appends through the backplane. Never waits for a client.
/// </summary>
internal sealed class MessageSender(CometEngine engine, ICometBackplane backplane, LocalDelivery delivery, EngineCounters counters)
{
    private CometOptions Options => engine.Options;

    /// <summary>Appends a broadcast (already serialised) and returns it with its number.</summary>
    internal CometMessage Broadcast(string channel, string? eventName, string json, string? from)
    {
        var message = backplane.Append(new OutgoingMessage(channel, json, engine.NowMs, null, eventName, from));
        counters.AddSent(1);
        HandleOverflows();
        return message;
    }

    /// <summary>
    /// Sends one message to several connections: stored once, queued for each that the message
    /// listeners let through. Returns how many it was queued for.
    /// </summary>
    internal int SendPrivate(string channel, IEnumerable<CometConnection> connections, object? data, string? user = null)
    {
        var json = Serialize(data);
        var targets = new List<string>();
        foreach (var c in connections)
        {
            if (c is null || c.State == ConnectionState.Dropped || !ReferenceEquals(c.Engine, engine)) continue;
            if (!engine.Bus.Fire(new MessageEvent(engine, c, channel, data))) continue;
            targets.Add(c.Id);
        }
        if (targets.Count == 0 && user is null) return 0;
        backplane.Append(new OutgoingMessage(channel, json, engine.NowMs, targets.ToArray(), TargetUser: user, Origin: engine.NodeId));
        counters.AddSent(1);
        HandleOverflows();
        return targets.Count;
    }

    /// <summary>A message for a connection that is away (its session kept for resume): delivered when it comes back.</summary>
    internal bool SendAway(string channel, string connectionId, object? data)
    {
        var json = Serialize(data);
        if (!engine.Bus.Fire(new MessageEvent(engine, null, channel, data))) return false;
        backplane.Append(new OutgoingMessage(channel, json, engine.NowMs, [connectionId]));
        counters.AddSent(1);
        return true;
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
            CometLog.Overflow(engine.Logger, connection.Id, dropped, policy);
            var drop = policy == CometOverflowPolicy.Drop;
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
