namespace Comet4Net.Events;

/// <summary>
/// Raised when a user's last connection is gone (dropped, kicked, or expired after ConnExpires). On a
/// backplane that keeps users cluster-wide it is raised once per cluster, on the node that held the
/// last connection; if that node died, by one other node once its entries expired, with
/// <see cref="CometEvent.Connection"/> null.
/// </summary>
public sealed class UserOfflineEvent(CometEngine engine, CometConnection? connection, string userId) : CometEvent(engine, connection)
{
    /// <summary>The user.</summary>
    public string UserId { get; } = userId;
}
