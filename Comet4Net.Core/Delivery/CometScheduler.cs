using Comet4Net.Diagnostics;

namespace Comet4Net;

/// <summary>
/// The one timer of an engine: ends held requests past Comet:Timeout (every tick), expires dying connections (and sessions past their window) every ConnFrequency, trims kept
/// messages every CacheFrequency and paces heartbeats. No thread per task; one async loop.
/// </summary>
public sealed class CometScheduler : IAsyncDisposable
{
    private readonly CometEngine _engine;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>Creates the scheduler of <paramref name="engine"/>; <see cref="Start"/> runs it.</summary>
    public CometScheduler(CometEngine engine) => _engine = engine;

    /// <summary>Starts the loop (once).</summary>
    public void Start() => _loop ??= RunAsync(_stop.Token);

    /// <summary>Stops the loop and waits for it.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        if (_loop is not null)
        {
            try { await _loop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
    }

    private async Task RunAsync(CancellationToken token)
    {
        var options = _engine.Options;
        var heartbeatEvery = options.Heartbeat > 0 ? TimeSpan.FromMilliseconds(Math.Max(50, options.Heartbeat / 2)) : TimeSpan.MaxValue;
        var connEvery = TimeSpan.FromMilliseconds(options.ConnFrequency);
        var cacheEvery = TimeSpan.FromMilliseconds(options.CacheFrequency);
        var tickMs = Math.Min(1000, Math.Min(options.ConnFrequency, options.CacheFrequency));
        if (options.Heartbeat > 0) tickMs = Math.Min(tickMs, Math.Max(50, options.Heartbeat / 2));
        tickMs = Math.Min(tickMs, Math.Max(50, options.Timeout / 10)); // a held request ends at most a tick (a tenth of Comet:Timeout, 1 s at most) late
        var tick = TimeSpan.FromMilliseconds(Math.Max(10, tickMs));
        var time = _engine.Time;
        long lastConn = time.GetTimestamp(), lastCache = lastConn, lastBeat = lastConn;
        while (!token.IsCancellationRequested)
        {
            await Task.Delay(tick, time, token).ConfigureAwait(false);
            try
            {
                _engine.EndOverdueRequests();
                if (time.GetElapsedTime(lastBeat) >= heartbeatEvery)
                {
                    lastBeat = time.GetTimestamp();
                    _engine.Delivery.HeartbeatSignal.Pulse();
                }
                if (time.GetElapsedTime(lastConn) >= connEvery)
                {
                    lastConn = time.GetTimestamp();
                    _engine.ExpireConnections();
                    // Waiters register once on the broadcast signal; a pulse now and then clears
                    // those left by finished requests when the application seldom broadcasts.
                    _engine.Delivery.BroadcastSignal.Pulse();
                }
                if (time.GetElapsedTime(lastCache) >= cacheEvery)
                {
                    lastCache = time.GetTimestamp();
                    _engine.TrimCache();
                }
            }
            catch (ObjectDisposedException)
            {
                return; // the host was disposed without being stopped: what maintenance needs is gone, and so is the need
            }
            catch (Exception ex)
            {
                CometLog.MaintenanceFailed(_engine.Logger, ex);
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
