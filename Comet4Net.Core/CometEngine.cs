using System.Diagnostics.Metrics;
using Comet4Net.Backplane;
using Comet4Net.Channels;
using Comet4Net.Connections;
using Comet4Net.Delivery;
using Comet4Net.Diagnostics;
using Comet4Net.Events;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Comet4Net;

/// <summary>
/// The engine: holds the connections, sends messages (<see cref="SendTo(string, CometConnection, object?)"/>,
/// <see cref="SendToAll(string, object?)"/>) and raises the connection events. Get it from
/// <see cref="CometContext.Engine"/> (or <c>CometContext.Instance.Engine</c> in code ported from Comet4J).
/// </summary>
/// <remarks>
/// A thin facade over the engine's parts: connections (registry, admission, users, lifecycle),
/// channels (subscriptions, history, client publishing), delivery (sender, local log, reader) and
/// the backplane that numbers every message. See docs/architecture.md.
/// </remarks>
public sealed partial class CometEngine
{
    private readonly ConnectionRegistry _registry = new();
    private readonly UserIndex _users = new();
    private readonly Admission _admission;

    internal CometEngine(CometContext context, TimeProvider time, ILogger? logger, ICometBackplane? backplane = null, IMeterFactory? meterFactory = null)
    {
        Context = context;
        Time = time;
        Logger = logger ?? NullLogger.Instance;
        Bus = new EventBus(Logger);
        Backplane = backplane ?? new InMemoryBackplane(time);
        _admission = new Admission(context.Options, context.Tokens, Counters);
        var history = new ChannelHistory(context, time);
        History = history;
        Delivery = new LocalDelivery(context.Options, _registry, _users, history, Counters, NodeId);
        Reader = new DeliveryReader(Delivery.Log, Counters);
        Delivery.Deltas = new DeltaChains(context);
        Sender = new MessageSender(this, Backplane.Log, Delivery, Counters);
        Subscriptions = new Subscriptions(this, Backplane.Presence, history);
        Publishing = new ClientPublishing(this);
        Lifecycle = new ConnectionLifecycle(this, _registry, _admission, _users, new KickedList(time), Backplane, Counters);
        Metrics = new CometMetrics(this, meterFactory);
        Access = new ChannelAccess(this);
        Delivery.Begin(Backplane.Log.LastSequence);
        Delivery.OnKick = KickHere;
        Delivery.OnForget = Lifecycle.HandOver.Forget;
        Delivery.OnOverflows = HandleReceivedOverflows;
        Backplane.Log.Start(Delivery);
        Backplane.Control.Start(Delivery);
    }

    /// <summary>The overflows of messages filed from other nodes, on the thread pool: a failure is logged, never thrown there.</summary>
    private void HandleReceivedOverflows()
    {
        try
        {
            Sender.HandleOverflows();
        }
        catch (Exception e)
        {
            CometLog.OverflowsFailed(Logger, e);
        }
    }

    /// <summary>This engine's name among the nodes sharing a backplane (random, new at every start).</summary>
    public string NodeId { get; } = ConnectionIds.NewId()[..12];

    /// <summary>The engine's <c>Comet4Net</c> meter.</summary>
    public CometMetrics Metrics { get; }

    /// <summary>The context that owns the engine.</summary>
    public CometContext Context { get; }

    /// <summary>The seam to the other nodes (an <see cref="InMemoryBackplane"/> unless the host set one).</summary>
    public ICometBackplane Backplane { get; }

    internal CometOptions Options => Context.Options;
    internal TimeProvider Time { get; }
    internal ILogger Logger { get; }
    internal EventBus Bus { get; }
    internal EngineCounters Counters { get; } = new();
    internal LocalDelivery Delivery { get; }
    internal DeliveryReader Reader { get; }
    internal MessageSender Sender { get; }
    internal ChannelHistory History { get; }
    internal Subscriptions Subscriptions { get; }
    internal ClientPublishing Publishing { get; }
    internal ChannelAccess Access { get; }
    internal ConnectionLifecycle Lifecycle { get; }

    /// <summary>The current time in milliseconds since 1970, as frames carry it.</summary>
    internal long NowMs => Time.GetUtcNow().ToUnixTimeMilliseconds();
    internal long Timestamp => Time.GetTimestamp();
    internal TimeSpan Elapsed(long since) => Time.GetElapsedTime(since);

    /// <summary>What the engine holds and has done since it started.</summary>
    public CometStatistics GetStatistics()
    {
        var byStyle = new Dictionary<string, int>(StringComparer.Ordinal);
        var dying = 0;
        foreach (var c in _registry.Enumerate())
        {
            byStyle[c.WorkStyle] = byStyle.GetValueOrDefault(c.WorkStyle) + 1;
            if (c.State == ConnectionState.Dying) dying++;
        }
        var log = Delivery.Log;
        var c2 = Counters;
        return new CometStatistics(ConnectionCount, dying, byStyle, log.Count, log.Bytes, log.LastSeq,
            c2.Connects, c2.Drops, c2.Expired, c2.Sent, c2.Frames, c2.BytesWritten, c2.Gaps, c2.LimitHits, c2.PendingDropped, c2.LogTrimmed);
    }

    internal static void CheckChannel(string channel)
    {
        if (!CometContext.IsValidChannelName(channel))
            throw new ArgumentException(
                $"'{channel}' is not a valid channel name: use 1 to 64 characters from A-Z a-z 0-9 _ . -", nameof(channel));
    }
}
