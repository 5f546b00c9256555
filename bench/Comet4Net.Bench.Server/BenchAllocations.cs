using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

/// <summary>
/// BENCH_ALLOC=1: the runtime's allocation samples (one event per ~100 KB allocated, naming the type
/// that crossed the mark) counted by type, so GET /bench/allocs shows which types a connect storm
/// allocates most. A sample stands for ~100 KB of allocation, not for one object.
/// </summary>
internal sealed class BenchAllocations : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytes = new();

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is not { } name || !name.StartsWith("GCAllocationTick") || e.PayloadNames is not { } names) return;
        var type = e.Payload![names.IndexOf("TypeName")] as string ?? "?";
        var amount = names.IndexOf("AllocationAmount64") is >= 0 and var i ? Convert.ToInt64(e.Payload[i]) : 100_000;
        _bytes.AddOrUpdate(type, amount, (_, v) => v + amount);
    }

    internal string Report(bool reset)
    {
        var total = _bytes.Values.Sum();
        var lines = _bytes.OrderByDescending(p => p.Value).Take(40).Select(p => $"{p.Value / 1024,10:N0} KB  {p.Value * 100.0 / Math.Max(1, total),5:F1} %  {p.Key}");
        if (reset) _bytes.Clear();
        return $"sampled {total >> 20} MB\n" + string.Join('\n', lines) + "\n";
    }
}
