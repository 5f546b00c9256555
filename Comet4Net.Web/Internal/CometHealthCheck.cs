using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Comet4Net.Web.Internal;

/// <summary>
/// The <c>comet</c> health check: Unhealthy while the engine is not serving (the host not started yet, or
/// stopping: it takes no new connections); Degraded when it refuses new connections at
/// <c>Comet:MaxConnections</c>, or when its connections come within a tenth of what the open-file limit
/// lets it hold (<see cref="FileLimit"/>); Healthy otherwise. Reads counters only: it never waits.
/// </summary>
internal sealed class CometHealthCheck(CometContext context, IHostApplicationLifetime lifetime) : IHealthCheck
{
    /// <summary>The share of the connections the file limit allows past which the check says Degraded.</summary>
    internal const double FileLimitWarning = 0.9;

    /// <summary>The open-file limit (a test replaces it).</summary>
    internal Func<long?> ReadFileLimit { get; set; } = FileLimit.Read;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext healthContext, CancellationToken cancellationToken = default) =>
        Task.FromResult(Check());

    private HealthCheckResult Check()
    {
        var engine = context.Engine;
        var held = engine.ConnectionCount;
        var max = context.Options.MaxConnections;
        var data = new Dictionary<string, object> { ["connections"] = held, ["maxConnections"] = max, ["node"] = engine.NodeId };
        if (lifetime.ApplicationStopping.IsCancellationRequested)
            return HealthCheckResult.Unhealthy("The application is stopping: this node takes no new connections.", data: data);
        if (!lifetime.ApplicationStarted.IsCancellationRequested)
            return HealthCheckResult.Unhealthy("The application has not started yet.", data: data);
        if (held >= max)
            return HealthCheckResult.Degraded($"{held} connections, at Comet:MaxConnections ({max}): new connections are refused.", data: data);
        if (ReadFileLimit() is { } limit)
        {
            var room = FileLimit.ConnectionsWithin(limit);
            data["fileLimit"] = limit;
            data["connectionsWithinFileLimit"] = room;
            if (held >= room * FileLimitWarning)
                return HealthCheckResult.Degraded(
                    $"{held} connections of the {room} the open-file limit ({limit}, ulimit -n) allows: raise it (systemd LimitNOFILE=) or add nodes.", data: data);
        }
        return HealthCheckResult.Healthy($"Serving {held} connections.", data);
    }
}
