using Comet4Net.Web.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps Comet4Net's admin HTTP API (off unless mapped).</summary>
public static class CometAdminEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the admin API under <paramref name="prefix"/>: <c>GET info</c>, <c>GET channels/{name}</c>, <c>GET connections/{cid}</c>,
    /// <c>POST push</c>, <c>POST kick</c>, <c>POST clear/{channel}</c>, <c>GET presence</c> (an SSE stream of
    /// presence events). Requests must carry <paramref name="key"/> in the <c>X-Comet-Admin-Key</c>
    /// header (or <c>Authorization: Bearer</c>). To protect it with an authorization policy instead,
    /// pass a null key and call <c>RequireAuthorization(policy)</c> on the result.
    /// </summary>
    public static RouteGroupBuilder MapCometAdmin(this IEndpointRouteBuilder endpoints, string prefix, string? key)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (key is not null && key.Length < 16)
            throw new ArgumentException("An admin key needs at least 16 characters.", nameof(key));
        var admin = ActivatorUtilities.CreateInstance<CometAdmin>(endpoints.ServiceProvider, new CometAdmin.Settings(key));
        var group = endpoints.MapGroup(prefix).WithMetadata(new DisableRequestTimeoutAttribute());
        group.AddEndpointFilter(admin.CheckKeyAsync);
        // Delegates, not RequestDelegates: so that the key filter runs and returned results are written.
        group.MapGet("info", (Delegate)admin.Info);
        group.MapGet("channels/{name}", (Delegate)admin.Channel);
        group.MapGet("connections/{cid}", (Delegate)admin.Connection);
        group.MapPost("push", (Delegate)admin.PushAsync).DisableAntiforgery();
        group.MapPost("kick", (Delegate)admin.KickAsync).DisableAntiforgery();
        group.MapPost("clear/{channel}", (Delegate)admin.Clear).DisableAntiforgery();
        group.MapGet("presence", (Delegate)admin.PresenceAsync);
        return group;
    }
}
