using Comet4Net;
using Comet4Net.Backplane;
using Comet4Net.Redis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Puts Comet4Net on Redis: <c>builder.Services.AddComet(…).AddRedis()</c>.</summary>
public static class CometRedisServiceCollectionExtensions
{
    /// <summary>
    /// Shares the log, sessions and presence of every node through Redis. <paramref name="configuration"/>
    /// is a StackExchange.Redis configuration string; null reads the setting <c>Comet:Redis</c>
    /// (<c>Comet__Redis=127.0.0.1:6379</c>). A missing or unreachable Redis stops startup with a message naming the setting.
    /// Also registers the <c>comet-redis</c> health check (tags <c>comet</c>, <c>redis</c>; see
    /// <see cref="RedisHealthCheckOptions"/>) and the node directory the dashboard lists the nodes from.
    /// </summary>
    public static IServiceCollection AddRedis(this IServiceCollection services, string? configuration = null, Action<RedisBackplaneOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.RemoveAll<ICometBackplane>();
        services.AddSingleton<ICometBackplane>(sp =>
        {
            var options = new RedisBackplaneOptions
            {
                Configuration = configuration ?? sp.GetRequiredService<IConfiguration>()["Comet:Redis"] ?? "",
                Prefix = sp.GetRequiredService<IConfiguration>()["Comet:RedisPrefix"] ?? "comet:",
            };
            configure?.Invoke(options);
            var backplane = new RedisBackplane(options, sp.GetService<ILogger<RedisBackplane>>(), sp.GetService<TimeProvider>());
            if (sp.GetService<IHostApplicationLifetime>() is { } lifetime) backplane.StopWith(lifetime.ApplicationStopping);
            return backplane;
        });
        if (!services.Any(d => d.ServiceType == typeof(RedisHealthCheck)))
        {
            // Singletons: the check keeps its last answer (one PING at a time), the directory reports every 2 s.
            services.TryAddSingleton(TimeProvider.System);
            services.AddOptions<RedisHealthCheckOptions>();
            services.AddSingleton<RedisHealthCheck>();
            services.AddHealthChecks().AddCheck<RedisHealthCheck>("comet-redis", tags: ["comet", "redis"]);
            services.AddSingleton<RedisNodeDirectory>();
            services.AddSingleton<ICometNodeDirectory>(sp => sp.GetRequiredService<RedisNodeDirectory>());
            services.AddHostedService(sp => sp.GetRequiredService<RedisNodeDirectory>());
        }
        return services;
    }
}
