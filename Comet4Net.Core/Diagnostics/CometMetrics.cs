using System.Diagnostics.Metrics;

namespace Comet4Net;

/// <summary>
/// The engine's figures as a <see cref="System.Diagnostics.Metrics"/> meter named <c>Comet4Net</c>,
/// so <c>dotnet-counters monitor -n app --counters Comet4Net</c> and OpenTelemetry see them.
/// Instruments are observable: they read the engine's counters when collected and add no cost to sending.
/// Made through the host's <see cref="IMeterFactory"/> when there is one, so the meter is disposed with the host
/// and a listener can tell one engine's meter from another's (<see cref="Meter"/>).
/// </summary>
public sealed class CometMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Comet4Net";

    private readonly Meter _meter;

    internal CometMetrics(CometEngine engine, IMeterFactory? factory)
    {
        var options = new MeterOptions(MeterName) { Version = engine.Context.Version };
        _meter = factory?.Create(options) ?? new Meter(options);
        var c = engine.Counters;
        _meter.CreateObservableGauge("comet.connections", () => ConnectionsByStyle(engine), "{connection}", "Connections held, by work style");
        _meter.CreateObservableGauge("comet.users", () => engine.UserCount, "{user}", "Users with at least one connection");
        _meter.CreateObservableCounter("comet.connects", () => c.Connects, "{connection}", "Connections opened");
        _meter.CreateObservableCounter("comet.drops", () => c.Drops, "{connection}", "Connections ended (drop, expiry, kick)");
        _meter.CreateObservableCounter("comet.messages", () => c.Sent, "{message}", "Messages sent by the application");
        _meter.CreateObservableCounter("comet.frames_written", () => c.Frames, "{frame}", "Message frames written to clients");
        _meter.CreateObservableCounter("comet.bytes_written", () => c.BytesWritten, "By", "Bytes of frames written to clients");
        _meter.CreateObservableCounter("comet.gaps", () => c.Gaps, "{gap}", "Gap notices: messages a client asked for were no longer held");
        _meter.CreateObservableCounter("comet.limit_hits", () => c.LimitHits, "{event}", "Limits reached (connections, message size, backlog, send timeout)");
        _meter.CreateObservableGauge("comet.backlog.messages", () => engine.Delivery.Log.Count, "{message}", "Broadcast messages kept in the log");
        _meter.CreateObservableGauge("comet.backlog.bytes", () => engine.Delivery.Log.Bytes, "By", "Bytes kept in the log");
    }

    /// <summary>This engine's meter.</summary>
    public Meter Meter => _meter;

    private static IEnumerable<Measurement<int>> ConnectionsByStyle(CometEngine engine)
    {
        foreach (var (style, count) in engine.GetStatistics().ConnectionsByWorkStyle)
            yield return new Measurement<int>(count, new KeyValuePair<string, object?>("work_style", style));
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
