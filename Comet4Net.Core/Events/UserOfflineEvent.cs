namespace Comet4Net.Events;

/// <summary>Raised when a user's last connection is gone (dropped, kicked, or expired after ConnExpires).</summary>
public sealed class UserOfflineEvent(CometEngine engine, CometConnection connection, string userId) : CometEvent(engine, connection)
{
    /// <summary>The user.</summary>
    public string UserId { get; } = userId;
}
