namespace Comet4Net.Delivery;

/// <summary>
/// The chains of the channels with <see cref="ChannelOptions.Delta"/>: every broadcast of such a channel
/// (not an event within it) is shown here as it is filed, in the log's order, and takes the channel's
/// previous broadcast as its delta base. Every node files the same shared log in the same order, so
/// every node gives a message the same base; a node that has not seen the previous one (it started
/// since, or a hole was filed) gives none, and the message goes out whole.
/// </summary>
/// <remarks>Holds one message's data per delta channel (the last), and nothing per connection.</remarks>
internal sealed class DeltaChains(CometContext context)
{
    private readonly Dictionary<string, (long Seq, string Data)> _last = new(StringComparer.Ordinal);

    /// <summary>Shows the chains a message being filed (every message of the log, in sequence order).</summary>
    internal void Offer(CometMessage message)
    {
        if (message.HoleAfter is not null)
        {
            // Whatever was lost may have been on any channel: no message before the hole is a base.
            lock (_last) _last.Clear();
            return;
        }
        if (!message.IsBroadcast || message.Event is not null || context.GetChannelOptions(message.Channel) is not { Delta: true }) return;
        lock (_last)
        {
            if (_last.TryGetValue(message.Channel, out var previous)) message.JoinChain(previous.Seq, previous.Data);
            else message.JoinChain(0, null);
            _last[message.Channel] = (message.Seq, message.DataJson);
        }
    }
}
