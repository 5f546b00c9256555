using System.Security.Cryptography;
using System.Text;

namespace Comet4Net.Connections;

/// <summary>Connection ids and secrets: 128 random bits each, base64url (22 characters).</summary>
internal static class ConnectionIds
{
    internal static string NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return System.Buffers.Text.Base64Url.EncodeToString(bytes); // 22 characters, no padding
    }

    /// <summary>True if <paramref name="id"/> has the shape of an id (it may still be unknown).</summary>
    internal static bool IsValid(string? id)
    {
        if (id is null || id.Length != 22) return false;
        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_')) return false;
        }
        return true;
    }

    /// <summary>Compares a presented secret with the real one in constant time.</summary>
    internal static bool SecretMatches(string? presented, string secret)
    {
        if (presented is null) return false;
        var x = Encoding.UTF8.GetBytes(presented);
        var y = Encoding.UTF8.GetBytes(secret);
        return x.Length == y.Length && CryptographicOperations.FixedTimeEquals(x, y);
    }
}
