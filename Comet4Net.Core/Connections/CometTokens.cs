using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Comet4Net;

/// <summary>
/// Short-lived signed tokens (in the spirit of iComet's <c>/sign</c>): the application's server
/// issues one for a user, the page passes it to <c>JS.Engine.start(url, "token=…")</c>, and the
/// engine checks it before connecting and puts the user id on the connection.
/// </summary>
/// <remarks>
/// A token is <c>v1.{userId, base64url}.{expiry, unix seconds}.{HMAC-SHA256 of the first three parts, base64url}</c>.
/// The key is <see cref="CometOptions.TokenKey"/>; keep it secret and at least 32 characters long.
/// </remarks>
public sealed class CometTokens
{
    private readonly byte[] _key;
    private readonly TimeProvider _time;

    /// <summary>Creates a signer/validator with <paramref name="key"/> (at least 32 characters).</summary>
    public CometTokens(string key, TimeProvider? time = null)
    {
        if (string.IsNullOrEmpty(key) || key.Length < 32)
            throw new ArgumentException("A token key needs at least 32 characters (Comet:TokenKey).", nameof(key));
        _key = Encoding.UTF8.GetBytes(key);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Issues a token for <paramref name="userId"/> valid for <paramref name="lifetime"/> (default 5 minutes).</summary>
    public string Issue(string userId, TimeSpan? lifetime = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        if (userId.Length > 256) throw new ArgumentException("A user id has at most 256 characters.", nameof(userId));
        var expires = _time.GetUtcNow().Add(lifetime ?? TimeSpan.FromMinutes(5)).ToUnixTimeSeconds();
        var body = "v1." + Base64Url(Encoding.UTF8.GetBytes(userId)) + "." + expires.ToString(CultureInfo.InvariantCulture);
        return body + "." + Base64Url(Sign(body));
    }

    /// <summary>Checks a token. On success <paramref name="userId"/> is its user; otherwise <paramref name="error"/> says why.</summary>
    public bool TryValidate(string? token, out string userId, out string error) => TryValidate(token, out userId, out _, out error);

    /// <summary>Checks a token as <see cref="TryValidate(string?, out string, out string)"/>; <paramref name="expires"/> is when it expires (unix milliseconds).</summary>
    public bool TryValidate(string? token, out string userId, out long expires, out string error)
    {
        expires = 0;
        userId = "";
        error = "";
        if (string.IsNullOrEmpty(token) || token.Length > 1024)
        {
            error = "The token is missing or too long.";
            return false;
        }
        var parts = token.Split('.');
        if (parts.Length != 4 || parts[0] != "v1")
        {
            error = "The token is malformed.";
            return false;
        }
        byte[] signature;
        byte[] user;
        try
        {
            signature = FromBase64Url(parts[3]);
            user = FromBase64Url(parts[1]);
        }
        catch (FormatException)
        {
            error = "The token is malformed.";
            return false;
        }
        var expected = Sign(parts[0] + "." + parts[1] + "." + parts[2]);
        if (!CryptographicOperations.FixedTimeEquals(expected, signature))
        {
            error = "The token's signature is wrong.";
            return false;
        }
        if (!long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > 100_000_000_000)
        {
            error = "The token is malformed.";
            return false;
        }
        if (_time.GetUtcNow().ToUnixTimeSeconds() >= seconds)
        {
            error = "The token has expired.";
            return false;
        }
        userId = Encoding.UTF8.GetString(user);
        expires = seconds * 1000;
        return true;
    }

    private byte[] Sign(string body) => HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(body));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        s += (s.Length % 4) switch { 2 => "==", 3 => "=", 0 => "", _ => throw new FormatException() };
        return Convert.FromBase64String(s);
    }
}
