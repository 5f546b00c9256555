using Comet4Net.Channels;

namespace Comet4Net;

/// <summary>Channels guarded by authorization policies (<see cref="ChannelPolicies"/>).</summary>
public sealed partial class CometEngine
{
    private ChannelPolicies? _policies;

    /// <summary>The policies guarding channels, checked on every path to a channel.</summary>
    /// <remarks>
    /// Read for every broadcast a connection that named no channel receives, so reading it allocates nothing
    /// (a lambda capturing <c>this</c> would make a delegate on every read).
    /// </remarks>
    internal ChannelPolicies Policies => Volatile.Read(ref _policies) ?? MakePolicies();

    private ChannelPolicies MakePolicies() => Interlocked.CompareExchange(ref _policies, new ChannelPolicies(this), null) ?? _policies!;
}
