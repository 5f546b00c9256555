namespace Comet4Net.Hosting;

/// <summary>Channels guarded by authorization policies: the host's side.</summary>
public sealed partial class CometHost
{
    /// <summary>
    /// What evaluates the policies of channels (Comet4Net.Web sets one over ASP.NET Core's
    /// <c>IAuthorizationService</c> when the host starts). Null: every channel guarded by a policy is refused.
    /// </summary>
    public ICometChannelAuthorizer? ChannelAuthorizer
    {
        get => _engine.Policies.Authorizer;
        set => _engine.Policies.Authorizer = value;
    }

    /// <summary>The policy guarding <paramref name="channel"/> (its own, else <see cref="CometOptions.ChannelPolicy"/>), or null.</summary>
    public string? ChannelPolicy(string channel) => _engine.Policies.PolicyOf(channel);

    /// <summary>
    /// True if the connection's user (as the request that made it, or brought it back, established it)
    /// satisfies the policy guarding <paramref name="channel"/>, or no policy guards it: the check of a
    /// client's <c>sub</c>, <c>pub</c> and <c>count</c>, whatever carries them.
    /// </summary>
    public ValueTask<bool> AuthorizeChannelAsync(CometConnection connection, string channel) =>
        _engine.Policies.AllowsAsync(connection.Request.User, channel);
}
