namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// How the admin API is protected: by a key (at least 16 characters), by one of the application's
/// authorization policies, or, only when asked for by name, by nothing at all.
/// </summary>
public sealed class CometAdminAccess
{
    /// <summary>The fewest characters an admin key may have.</summary>
    public const int MinimumKeyLength = 16;

    private CometAdminAccess(string? key, string? policy)
    {
        Key = key;
        Policy = policy;
    }

    /// <summary>Requests must carry this key in <c>X-Comet-Admin-Key</c> (or <c>Authorization: Bearer</c>).</summary>
    public static CometAdminAccess WithKey(string key)
    {
        if (string.IsNullOrEmpty(key))
            throw new ArgumentException("The admin key is null or empty.", nameof(key));
        if (key.Length < MinimumKeyLength)
            throw new ArgumentException($"An admin key needs at least {MinimumKeyLength} characters.", nameof(key));
        return new CometAdminAccess(key, null);
    }

    /// <summary>Requests must satisfy the application's authorization policy <paramref name="policyName"/> (no key is checked).</summary>
    public static CometAdminAccess WithPolicy(string policyName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(policyName);
        return new CometAdminAccess(null, policyName);
    }

    /// <summary>
    /// Anyone who can reach the endpoints may read, push and kick. Only for an admin API reachable solely
    /// from a trusted network (a port bound to loopback, a sidecar) that the application protects itself.
    /// </summary>
    public static CometAdminAccess AllowAnonymous { get; } = new(null, null);

    internal string? Key { get; }

    internal string? Policy { get; }
}
