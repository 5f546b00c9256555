namespace Comet4Net;

/// <summary>What a registered channel offers beyond plain delivery. Every feature is off by default.</summary>
public sealed class ChannelOptions
{
    /// <summary>The default: no history, no presence, no client publishing, no counts.</summary>
    public static ChannelOptions Default { get; } = new();

    /// <summary>How many of the channel's last broadcasts are kept as history (0: none).</summary>
    public int HistoryCount { get; init; }

    /// <summary>Keep events within the channel (<c>SendToAll(channel, event, data)</c>: typing, presence …) in history too. Default false: only plain messages.</summary>
    public bool HistoryIncludesEvents { get; init; }

    /// <summary>How long history is kept (null: as long as <see cref="HistoryCount"/> allows).</summary>
    public TimeSpan? HistoryAge { get; init; }

    /// <summary>Subscribers see <c>join</c> and <c>leave</c> events on the channel (<c>JS.Engine.on('room.join', …)</c>).</summary>
    public bool Presence { get; init; }

    /// <summary>Clients may publish on the channel (<c>JS.Engine.send</c>); before-publish listeners still decide.</summary>
    public bool AllowPublish { get; init; }

    /// <summary>
    /// A private channel: a connection receives it only after an explicit subscription that the
    /// subscribe listeners accepted (<c>JS.Engine.on(channel, …)</c>, <c>sub=</c> or <c>cmd=sub</c>).
    /// Clients that name no channel (and legacy clients, which cannot) never receive it. Default false.
    /// </summary>
    public bool RequireSubscription { get; init; }

    /// <summary>Clients may ask how many connections and users are subscribed (<c>JS.Engine.count</c>).</summary>
    public bool AllowCount { get; init; }

    /// <summary>
    /// The ASP.NET Core authorization policy a connection's user must satisfy to receive, subscribe to,
    /// publish on or count this channel (null: <see cref="CometOptions.ChannelPolicy"/>, the default;
    /// empty: none, even when there is a default). See README, "Channels guarded by policies".
    /// </summary>
    public string? Policy { get; init; }

    /// <summary>
    /// Clients that ask for deltas (<c>delta=fossil</c>) receive each broadcast of the channel (not its
    /// events) as a Fossil delta against the previous one, whole when they cannot be known to hold it
    /// (the first, after a gap, on resume) or when the delta would not be smaller. Listeners always get the whole data.
    /// </summary>
    public bool Delta { get; init; }

    internal void Validate(string channel)
    {
        if (HistoryCount is < 0 or > 100000)
            throw new ArgumentOutOfRangeException(nameof(HistoryCount), HistoryCount, $"Channel '{channel}': HistoryCount must be 0 to 100000.");
        if (HistoryAge is { } age && age <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(HistoryAge), age, $"Channel '{channel}': HistoryAge must be positive.");
    }
}
