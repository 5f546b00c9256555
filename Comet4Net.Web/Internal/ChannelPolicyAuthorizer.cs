using System.Security.Claims;
using Comet4Net.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;

namespace Comet4Net.Web.Internal;

/// <summary>
/// The policies of channels (<see cref="ChannelOptions.Policy"/>, <see cref="CometOptions.ChannelPolicy"/>)
/// evaluated by the application's <see cref="IAuthorizationService"/>, with the channel's name as the resource
/// (so a handler of <c>AuthorizationHandler&lt;TRequirement, string&gt;</c> can decide per channel).
/// </summary>
internal sealed class ChannelPolicyAuthorizer(IAuthorizationService authorization) : ICometChannelAuthorizer
{
    public async ValueTask<bool> AuthorizeAsync(ClaimsPrincipal user, string channel, string policy) =>
        (await authorization.AuthorizeAsync(user, channel, policy).ConfigureAwait(false)).Succeeded;

    /// <summary>
    /// When the host starts, after the application's setups registered their channels: the authorizer is
    /// set, and a policy named where authorization is not registered, or a policy that does not exist,
    /// stops the start with an error naming the setting (not a refusal found at the first subscription).
    /// </summary>
    internal static async Task StartAsync(CometContext context, IServiceProvider services)
    {
        var host = context.Engine.Host;
        if (services.GetService<IAuthorizationService>() is { } authorization) host.ChannelAuthorizer ??= new ChannelPolicyAuthorizer(authorization);
        var named = new List<(string Policy, string Setting, string Key)>();
        if (!string.IsNullOrEmpty(context.Options.ChannelPolicy)) named.Add((context.Options.ChannelPolicy, "Comet:ChannelPolicy", nameof(CometOptions.ChannelPolicy)));
        foreach (var channel in context.Channels)
        {
            if (context.GetChannelOptions(channel)?.Policy is { Length: > 0 } policy) named.Add((policy, $"ChannelOptions.Policy of channel '{channel}'", ""));
        }
        if (named.Count == 0) return;
        var provider = services.GetService<IAuthorizationPolicyProvider>();
        foreach (var (policy, setting, key) in named)
        {
            if (host.ChannelAuthorizer is null)
                throw Bad(key, $"{setting} is '{policy}', but ASP.NET Core authorization is not registered: call builder.Services.AddAuthorization(…) and add the policy.");
            if (host.ChannelAuthorizer is ChannelPolicyAuthorizer && provider is not null && await provider.GetPolicyAsync(policy).ConfigureAwait(false) is null)
                throw Bad(key, $"{setting} is '{policy}', which is not a registered authorization policy: add it with AddAuthorization(o => o.AddPolicy(\"{policy}\", …)).");
        }
    }

    private static Exception Bad(string key, string message) =>
        key.Length > 0 ? new CometConfigurationException(key, message) : new InvalidOperationException(message);
}
