using Comet4Net.Events;

namespace Comet4Net.Channels;

/// <summary>
/// Which channels a connection that named none (a v2 client without <c>sub</c>, every legacy client)
/// may receive: never a channel that requires a subscription, and only channels the subscribe
/// listeners accept, asked once per connection and channel, when its first message arrives.
/// So a refusal holds whichever way a connection came to receive a channel.
/// </summary>
internal sealed class ChannelAccess(CometEngine engine)
{
    /// <summary>True if <paramref name="connection"/>, which receives every channel, may receive <paramref name="channel"/>.</summary>
    internal bool AllowsImplicit(CometConnection connection, string channel)
    {
        if (engine.Context.HasPrivateChannels && engine.Context.GetChannelOptions(channel) is { RequireSubscription: true }) return false;
        if (engine.Policies.Active) return connection.ImplicitChannels.GetOrAdd(channel, static (ch, s) => s.engine.Policies.AllowsNow(s.connection, ch)
            && (!s.engine.Bus.HasSubscribeListeners || s.engine.Bus.Fire(new SubscribeEvent(s.engine, s.connection, ch))), (engine, connection));
        if (!engine.Bus.HasSubscribeListeners) return true;
        return connection.ImplicitChannels.GetOrAdd(channel, static (ch, s) => s.engine.Bus.Fire(new SubscribeEvent(s.engine, s.connection, ch)),
            (engine, connection));
    }

    /// <summary>Asks the subscribe listeners about channels named explicitly (at connect, or on resume); returns the refused ones.</summary>
    internal List<string> Check(CometConnection connection, IEnumerable<string> channels)
    {
        var refused = new List<string>();
        foreach (var channel in channels)
        {
            if (!engine.Bus.Fire(new SubscribeEvent(engine, connection, channel))) refused.Add(channel);
        }
        return refused;
    }
}
