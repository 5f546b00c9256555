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
    /// Maps the admin API under <paramref name="prefix"/>, protected by <paramref name="key"/>: requests must
    /// carry it in the <c>X-Comet-Admin-Key</c> header (or <c>Authorization: Bearer</c>). A null or empty key
    /// (an unset setting) or one shorter than 16 characters throws: a missing key never means an open API.
    /// To use an authorization policy instead, or to open it on purpose, pass a <see cref="CometAdminAccess"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The key is null or empty.</exception>
    /// <exception cref="ArgumentException">The key is shorter than 16 characters.</exception>
    public static RouteGroupBuilder MapCometAdmin(this IEndpointRouteBuilder endpoints, string prefix, string? key)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (string.IsNullOrEmpty(key))
            throw new InvalidOperationException(
                $"MapCometAdmin(\"{prefix}\") was given no admin key: the setting that supplies it (\"CometAdminKey\" in the README's " +
                $"builder.Configuration[\"CometAdminKey\"]) is unset or empty. Set it to a key of at least {CometAdminAccess.MinimumKeyLength} characters, " +
                "or map with CometAdminAccess.WithPolicy(\"policy\") to use an authorization policy, or CometAdminAccess.AllowAnonymous to open it on purpose.");
        return MapCometAdmin(endpoints, prefix, CometAdminAccess.WithKey(key));
    }

    /// <summary>
    /// Maps the admin API under <paramref name="prefix"/>: <c>GET info</c>, <c>GET channels/{name}</c>, <c>GET connections/{cid}</c>,
    /// <c>POST push</c>, <c>POST kick</c>, <c>POST clear/{channel}</c>, <c>GET presence</c> (an SSE stream of
    /// presence events), protected as <paramref name="access"/> says: a key, an authorization policy
    /// (<c>RequireAuthorization(policy)</c>), or explicitly nothing.
    /// </summary>
    public static RouteGroupBuilder MapCometAdmin(this IEndpointRouteBuilder endpoints, string prefix, CometAdminAccess access)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(access);
        var admin = ActivatorUtilities.CreateInstance<CometAdmin>(endpoints.ServiceProvider, new CometAdmin.Settings(access.Key));
        var group = endpoints.MapGroup(prefix).WithMetadata(new DisableRequestTimeoutAttribute());
        if (access.Key is not null) group.AddEndpointFilter(admin.CheckKeyAsync);
        else if (access.Policy is { } policy) group.RequireAuthorization(policy);
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
