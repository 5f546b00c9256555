namespace Comet4Net.Events;

/// <summary>Raised when a user gets their first connection.</summary>
public sealed class UserOnlineEvent(CometEngine engine, CometConnection connection, string userId) : CometEvent(engine, connection)
{
    /// <summary>The user.</summary>
    public string UserId { get; } = userId;
}
