using System.Diagnostics;
using System.Diagnostics.Metrics;
using Comet4Net;

/// <summary>
/// bench --trace: what an OpenTelemetry SDK attached to the server costs it, without an exporter's network:
/// an ActivityListener on Comet4Net's source sampling every span with all its data (each stopped span
/// counted), and a MeterListener on its meter reading the observable instruments every second.
/// </summary>
internal sealed class BenchTracing : IDisposable
{
    private readonly ActivityListener _spans;
    private readonly MeterListener _meters = new();
    private readonly Timer _collect;
    private long _spanCount, _measurements;

    internal BenchTracing()
    {
        _spans = new ActivityListener
        {
            ShouldListenTo = s => s.Name == CometDiagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a => Interlocked.Increment(ref _spanCount),
        };
        ActivitySource.AddActivityListener(_spans);
        _meters.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == CometDiagnostics.MeterName) l.EnableMeasurementEvents(instrument);
        };
        _meters.SetMeasurementEventCallback<int>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _meters.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _meters.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _meters.Start();
        _collect = new Timer(_ => _meters.RecordObservableInstruments(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    public void Dispose()
    {
        _collect.Dispose();
        _meters.Dispose();
        _spans.Dispose();
        Console.Error.WriteLine($"bench --trace: {Interlocked.Read(ref _spanCount)} spans, {Interlocked.Read(ref _measurements)} measurements");
    }
}
