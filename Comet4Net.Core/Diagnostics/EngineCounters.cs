namespace Comet4Net.Diagnostics;

/// <summary>Thread-safe counters of what an engine did, read by <see cref="CometEngine.GetStatistics"/> and the meter.</summary>
internal sealed class EngineCounters
{
    private long _connects, _drops, _expired, _sent, _frames, _bytes, _gaps, _limitHits, _pendingDropped, _logTrimmed,
        _resumes, _overflows, _kicks, _sendTimeouts;
    internal long Connects => Interlocked.Read(ref _connects);
    internal long Drops => Interlocked.Read(ref _drops);
    internal long Expired => Interlocked.Read(ref _expired);
    internal long Sent => Interlocked.Read(ref _sent);
    internal long Frames => Interlocked.Read(ref _frames);
    internal long BytesWritten => Interlocked.Read(ref _bytes);
    internal long Gaps => Interlocked.Read(ref _gaps);
    internal long LimitHits => Interlocked.Read(ref _limitHits);
    internal long PendingDropped => Interlocked.Read(ref _pendingDropped);
    internal long LogTrimmed => Interlocked.Read(ref _logTrimmed);
    internal long Resumes => Interlocked.Read(ref _resumes);
    internal long Overflows => Interlocked.Read(ref _overflows);
    internal long Kicks => Interlocked.Read(ref _kicks);
    internal long SendTimeouts => Interlocked.Read(ref _sendTimeouts);
    internal void AddResume() => Interlocked.Increment(ref _resumes);
    internal void AddOverflow() => Interlocked.Increment(ref _overflows);
    internal void AddKick() => Interlocked.Increment(ref _kicks);
    internal void AddSendTimeout() => Interlocked.Increment(ref _sendTimeouts);
    internal void AddConnect() => Interlocked.Increment(ref _connects);
    internal void AddDrop() => Interlocked.Increment(ref _drops);
    internal void AddExpired() => Interlocked.Increment(ref _expired);
    internal void AddSent(long n) => Interlocked.Add(ref _sent, n);
    internal void AddWritten(long frames, long bytes) { Interlocked.Add(ref _frames, frames); Interlocked.Add(ref _bytes, bytes); }
    internal void AddGap() => Interlocked.Increment(ref _gaps);
    internal void AddLimitHit() => Interlocked.Increment(ref _limitHits);
    internal void AddPendingDropped(long n) => Interlocked.Add(ref _pendingDropped, n);
    internal void AddLogTrimmed(long n) => Interlocked.Add(ref _logTrimmed, n);
}
