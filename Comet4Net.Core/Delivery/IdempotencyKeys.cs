using System.Globalization;

namespace Comet4Net.Delivery;

/// <summary>
/// Idempotency keys: what a key may be, and the scope it is kept in. A client's key is scoped to its
/// user (any of the user's connections, across new connections) or, without a user, to its connection,
/// and always to the channel, so one client can never take another's key; the server's own keys
/// (<c>SendToAll</c> with a key) have a scope of their own.
/// </summary>
public static class IdempotencyKeys
{
    /// <summary>Longest key accepted, in characters.</summary>
    public const int MaxLength = 64;

    /// <summary>True for 1 to 64 characters from A-Z a-z 0-9 and <c>- _ . :</c> (a UUID, a counter, a hash in hex or base64url).</summary>
    public static bool IsValid(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > MaxLength) return false;
        foreach (var c in key)
        {
            if (c is not (>= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_' or '.' or ':')) return false;
        }
        return true;
    }

    /// <summary>A client's key in its scope: its user's (the length first, so no user id can pass for another), else its connection's.</summary>
    internal static string ForClient(CometConnection connection, string channel, string key) => connection.UserId is { } user
        ? "u" + user.Length.ToString(CultureInfo.InvariantCulture) + ":" + user + "|" + channel + "|" + key
        : "c:" + connection.Id + "|" + channel + "|" + key;

    /// <summary>The server's own key (<c>SendToAll</c> with a key) in its scope.</summary>
    internal static string ForServer(string channel, string key) => "s|" + channel + "|" + key;
}
