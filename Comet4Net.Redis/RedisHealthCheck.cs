using System.Globalization;
using Comet4Net.Backplane;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Comet4Net.Redis;

/// <summary>What the <c>comet-redis</c> health check (registered by <c>AddRedis()</c>) allows. Configure with <c>services.Configure&lt;RedisHealthCheckOptions&gt;(…)</c>.</summary>
public sealed class RedisHealthCheckOptions
{
    /// <summary>How long a PING may take before Redis counts as unreachable (Unhealthy). Default 1 s.</summary>
    public TimeSpan PingTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long an answer is reused, so that frequent probes send at most one PING per period. Default 1 s.</summary>
    public TimeSpan CacheFor { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How many messages this node's log may be behind the shared log's head (the last number Redis
    /// gave) before the check says Degraded: the node delivers late. Default 1000.
    /// </summary>
    public long MaxLogLag { get; set; } = 1000;
}

/// <summary>
/// Redis reachable (a PING within <see cref="RedisHealthCheckOptions.PingTimeout"/>, Unhealthy otherwise) and
/// this node's log within <see cref="RedisHealthCheckOptions.MaxLogLag"/> of the shared log's head (Degraded otherwise).
/// One probe at a time, its answer reused for <see cref="RedisHealthCheckOptions.CacheFor"/>: a check never waits
/// longer than the PING timeout, however often it is asked.
/// </summary>
internal sealed class RedisHealthCheck(ICometBackplane backplane, IOptions<RedisHealthCheckOptions> options, TimeProvider time) : IHealthCheck
{
    private readonly object _sync = new();
    private Task<HealthCheckResult>? _probe;
    private long _probedAt;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        Task<HealthCheckResult> probe;
        lock (_sync)
        {
            if (_probe is { } last && (!last.IsCompleted || time.GetElapsedTime(_probedAt) < options.Value.CacheFor)) probe = last;
            else
            {
                _probedAt = time.GetTimestamp();
                probe = _probe = ProbeAsync();
            }
        }
        return probe.WaitAsync(cancellationToken);
    }

    private async Task<HealthCheckResult> ProbeAsync()
    {
        if (backplane is not RedisBackplane redis)
            return HealthCheckResult.Unhealthy("The backplane is not Comet4Net.Redis's (AddRedis() was replaced).");
        var settings = options.Value;
        var data = new Dictionary<string, object> { ["connected"] = redis.IsConnected, ["waitingMessages"] = redis.WaitingMessages };
        if (!redis.IsConnected)
            return HealthCheckResult.Unhealthy("Redis is not connected (Comet:Redis): this node serves its own clients only.", data: data);
        var db = redis.Multiplexer.GetDatabase();
        var ping = db.PingAsync();
        var head = db.StringGetAsync(redis.Keys.Seq);
        try
        {
            await Task.WhenAll(ping, head).WaitAsync(settings.PingTimeout, time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Observe(ping);
            Observe(head);
            return HealthCheckResult.Unhealthy(
                $"Redis did not answer a PING within {settings.PingTimeout.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms.", data: data);
        }
        catch (RedisException e)
        {
            Observe(ping);
            Observe(head);
            return HealthCheckResult.Unhealthy("Redis did not answer a PING: " + e.Message, e, data);
        }
        data["pingMs"] = Math.Round(ping.Result.TotalMilliseconds, 2);
        var read = backplane.Log.LastSequence;
        var lag = head.Result.TryParse(out long last) ? Math.Max(0, last - read) : 0;
        data["logHead"] = head.Result.IsNull ? 0L : last;
        data["logPosition"] = read;
        data["logLag"] = lag;
        if (lag > settings.MaxLogLag)
            return HealthCheckResult.Degraded($"This node's log is {lag} messages behind the shared log (more than {settings.MaxLogLag}): it delivers late.", data: data);
        return HealthCheckResult.Healthy($"Redis answers ({ping.Result.TotalMilliseconds:0.#} ms); this node's log is {lag} messages behind.", data);
    }

    /// <summary>A call given up on may still fail later: observed, so that it is not reported as unobserved.</summary>
    private static void Observe(Task task) => task.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
}
