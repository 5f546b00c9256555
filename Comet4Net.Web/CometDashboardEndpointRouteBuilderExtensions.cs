using Comet4Net;
using Comet4Net.Backplane;
using Comet4Net.Web.Internal;
using Comet4Net.Web.Internal.Dashboard;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps Comet4Net's live dashboard (off unless mapped).</summary>
public static class CometDashboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the dashboard under <paramref name="prefix"/>, protected by <paramref name="key"/> as the admin API is:
    /// its figures are read with the key in <c>X-Comet-Admin-Key</c> (the page asks for it and keeps it in the tab).
    /// A null or empty key (an unset setting) throws, naming the setting; one shorter than 16 characters throws too.
    /// </summary>
    /// <exception cref="InvalidOperationException">The key is null or empty.</exception>
    /// <exception cref="ArgumentException">The key is shorter than 16 characters.</exception>
    public static RouteGroupBuilder MapCometDashboard(this IEndpointRouteBuilder endpoints, string prefix, string? key)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (string.IsNullOrEmpty(key))
            throw new InvalidOperationException(
                $"MapCometDashboard(\"{prefix}\") was given no key: the setting that supplies it (\"CometAdminKey\" in the README's " +
                $"builder.Configuration[\"CometAdminKey\"]) is unset or empty. Set it to a key of at least {CometAdminAccess.MinimumKeyLength} characters, " +
                "or map with CometAdminAccess.WithPolicy(\"policy\") to use an authorization policy, or CometAdminAccess.AllowAnonymous to open it on purpose.");
        return MapCometDashboard(endpoints, prefix, CometAdminAccess.WithKey(key));
    }

    /// <summary>
    /// Maps the dashboard under <paramref name="prefix"/>: <c>GET {prefix}</c>, the page (one HTML file with inline
    /// script and SVG charts, no outside resource), and <c>GET {prefix}/stats</c>, the JSON it polls every second:
    /// this node's connections by work style, users, counters (sent, delivered, gaps, resumes), channels with
    /// subscribers, the connections with the most messages waiting, and every node (on Redis).
    /// <paramref name="access"/> protects both as it does the admin API; with a key, the page itself holds no
    /// figures and is served to anyone, and <c>stats</c> needs the key.
    /// </summary>
    public static RouteGroupBuilder MapCometDashboard(this IEndpointRouteBuilder endpoints, string prefix, CometAdminAccess access)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(access);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        var services = endpoints.ServiceProvider;
        var data = new DashboardData(services.GetRequiredService<CometContext>(), services.GetService<ICometNodeDirectory>());
        var group = endpoints.MapGroup(prefix);
        group.MapGet("", DashboardPage.Serve);
        var stats = group.MapGet("stats", (Delegate)data.StatsAsync);
        if (access.Key is not null)
            stats.AddEndpointFilter(ActivatorUtilities.CreateInstance<CometAdmin>(services, new CometAdmin.Settings(access.Key)).CheckKeyAsync);
        else if (access.Policy is { } policy) group.RequireAuthorization(policy);
        return group;
    }
}
