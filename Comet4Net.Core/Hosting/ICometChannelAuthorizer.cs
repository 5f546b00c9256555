using System.Security.Claims;

namespace Comet4Net.Hosting;

/// <summary>
/// Decides whether a user satisfies a named authorization policy for a channel
/// (<see cref="ChannelOptions.Policy"/>, <see cref="CometOptions.ChannelPolicy"/>). Comet4Net.Web sets one
/// over ASP.NET Core's <c>IAuthorizationService</c> (the resource is the channel's name); another host sets its own
/// on <see cref="CometHost.ChannelAuthorizer"/>. With none set, every channel guarded by a policy is refused.
/// </summary>
public interface ICometChannelAuthorizer
{
    /// <summary>True if <paramref name="user"/> satisfies <paramref name="policy"/> for <paramref name="channel"/>.</summary>
    ValueTask<bool> AuthorizeAsync(ClaimsPrincipal user, string channel, string policy);
}
