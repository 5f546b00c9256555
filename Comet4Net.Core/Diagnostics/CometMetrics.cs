using System.Diagnostics.Metrics;

namespace Comet4Net;

/// <summary>
/// The engine's figures as a <see cref="System.Diagnostics.Metrics"/> meter named <c>Comet4Net</c>,
/// so <c>dotnet-counters monitor -n app --counters Comet4Net</c> and OpenTelemetry
/// (<c>AddMeter(CometDiagnostics.MeterName)</c>) see them. Names follow OpenTelemetry's conventions
/// (dotted lowercase, UCUM units); README's "Traces and metrics" lists each with its tags.
/// Instruments are observable, read from the engine's counters when collected (nothing added to
/// sending), except the backplane's append round trips, a histogram recorded per append.
/// Made through the host's <see cref="IMeterFactory"/> when there is one, so the meter is disposed with the host
/// and a listener can tell one engine's meter from another's (<see cref="Meter"/>).
/// </summary>
public sealed class CometMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Comet4Net";

    /// <summary>The histogram's buckets, in seconds: a loopback Redis answers in well under a millisecond, a far one in tens.</summary>
    private static readonly double[] AppendBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

    private readonly Meter _meter;
    private readonly Histogram<double> _appendDuration;

    internal CometMetrics(CometEngine engine, IMeterFactory? factory)
    {
        var options = new MeterOptions(MeterName) { Version = engine.Context.Version };
        _meter = factory?.Create(options) ?? new Meter(options);
        var c = engine.Counters;
        var node = new KeyValuePair<string, object?>("comet.node", engine.NodeId);
        _meter.CreateObservableGauge("comet.connections", () => Connections(engine, node), "{connection}",
            "Connections held by this node, by work style and state (alive: a request attached; dying: between requests)");
        _meter.CreateObservableGauge("comet.users", () => engine.UserCount, "{user}", "Users with at least one connection");
        _meter.CreateObservableCounter("comet.connections.opened", () => c.Connects, "{connection}", "Connections opened (resumed sessions included)");
        _meter.CreateObservableCounter("comet.connections.closed", () => c.Drops, "{connection}", "Connections ended (drop, expiry, kick, overflow, shutdown)");
        _meter.CreateObservableCounter("comet.messages.sent", () => c.Sent, "{message}", "Messages this node sent (application sends and client publishes), once each");
        _meter.CreateObservableCounter("comet.messages.delivered", () => c.Frames, "{message}", "Message frames written to this node's clients (one per message and connection)");
        _meter.CreateObservableCounter("comet.delivery.io", () => c.BytesWritten, "By", "Bytes of message frames written to this node's clients");
        _meter.CreateObservableCounter("comet.gaps", () => c.Gaps, "{gap}", "Gap notices: messages a client asked for were no longer held");
        _meter.CreateObservableCounter("comet.resumes", () => c.Resumes, "{session}", "Sessions resumed within the resume window (a hand-over between nodes not counted)");
        _meter.CreateObservableCounter("comet.overflows", () => c.Overflows, "{overflow}", "Private queues that passed MaxPendingMessages / MaxPendingBytes (a gap or a drop, per OverflowPolicy)");
        _meter.CreateObservableCounter("comet.kicks", () => c.Kicks, "{connection}", "Connections kicked by the application (Kick, KickConnection, the admin API) on this node");
        _meter.CreateObservableCounter("comet.send.timeouts", () => c.SendTimeouts, "{write}", "Writes given up after SendTimeout (a client that does not read)");
        _meter.CreateObservableCounter("comet.limits.reached", () => c.LimitHits, "{event}", "Limits reached (connections, message size, overflow, send timeout)");
        _meter.CreateObservableGauge("comet.log.messages", () => engine.Delivery.Log.Count, "{message}", "Broadcast messages kept in this node's log");
        _meter.CreateObservableGauge("comet.log.size", () => engine.Delivery.Log.Bytes, "By", "Bytes kept in this node's log");
        _meter.CreateObservableGauge("comet.backplane.lag", () => Lag(engine, node), "{message}",
            "How far this node's log is behind the shared log: numbers handed out that this node has not filed yet");
        _appendDuration = _meter.CreateHistogram("comet.backplane.append.duration", "s",
            "Round trips of this node's appends to the shared log (one per group-committed batch)", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = AppendBuckets });
        engine.Delivery.Metrics = this;
    }

    /// <summary>This engine's meter.</summary>
    public Meter Meter => _meter;

    /// <summary>An append's round trip to the shared log (called by the backplane through the node's receiver).</summary>
    internal void RecordAppend(TimeSpan roundTrip) => _appendDuration.Record(roundTrip.TotalSeconds);

    private static IEnumerable<Measurement<int>> Connections(CometEngine engine, KeyValuePair<string, object?> node)
    {
        var counts = new Dictionary<(string Style, bool Dying), int>();
        foreach (var connection in engine.Connections)
        {
            var key = (connection.WorkStyle, connection.State == ConnectionState.Dying);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        foreach (var ((style, dying), count) in counts)
        {
            yield return new Measurement<int>(count, new KeyValuePair<string, object?>("comet.work_style", style),
                new KeyValuePair<string, object?>("comet.connection.state", dying ? "dying" : "alive"), node);
        }
    }

    private static Measurement<long> Lag(CometEngine engine, KeyValuePair<string, object?> node)
    {
        var log = engine.Backplane.Log;
        return new Measurement<long>(Math.Max(0, log.HeadSequence - log.LastSequence), node);
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
