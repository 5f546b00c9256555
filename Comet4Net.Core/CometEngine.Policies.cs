using Comet4Net.Channels;

namespace Comet4Net;

/// <summary>Channels guarded by authorization policies (<see cref="ChannelPolicies"/>).</summary>
public sealed partial class CometEngine
{
    private ChannelPolicies? _policies;

    /// <summary>The policies guarding channels, checked on every path to a channel.</summary>
    internal ChannelPolicies Policies => LazyInitializer.EnsureInitialized(ref _policies, () => new ChannelPolicies(this));
}
