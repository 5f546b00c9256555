using System.Security.Claims;

namespace Comet4Net;

/// <summary>
/// What the engine knows of an HTTP request, without depending on ASP.NET Core. Comet4Net.Web
/// fills it from the <c>HttpContext</c>; <see cref="Native"/> is that context while the request runs.
/// </summary>
public interface ICometRequest
{
    /// <summary>GET or POST.</summary>
    string Method { get; }

    /// <summary>The request path.</summary>
    string Path { get; }

    /// <summary>A query (or form) parameter, or null.</summary>
    string? Query(string name);

    /// <summary>Every query parameter, including the ones the page added with <c>JS.Engine.start(url, param)</c>.</summary>
    IReadOnlyDictionary<string, string> QueryParameters { get; }

    /// <summary>A cookie's value, or null.</summary>
    string? Cookie(string name);

    /// <summary>A header's value, or null.</summary>
    string? Header(string name);

    /// <summary>The authenticated user (an anonymous principal if none).</summary>
    ClaimsPrincipal User { get; }

    /// <summary>The client's IP address.</summary>
    string ClientIp { get; }

    /// <summary>The host's own request object (an <c>HttpContext</c> in Comet4Net.Web), valid only while the request runs.</summary>
    object? Native { get; }
}

/// <summary>A request made of plain values: for tests and for hosts other than ASP.NET Core.</summary>
public sealed class SimpleCometRequest : ICometRequest
{
    /// <inheritdoc />
    public string Method { get; init; } = "GET";
    /// <inheritdoc />
    public string Path { get; init; } = "/conn";
    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> QueryParameters { get; init; } = new Dictionary<string, string>();
    /// <summary>Cookies by name.</summary>
    public IReadOnlyDictionary<string, string> Cookies { get; init; } = new Dictionary<string, string>();
    /// <summary>Headers by name (case-insensitive lookup is the caller's choice of dictionary).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
    /// <inheritdoc />
    public ClaimsPrincipal User { get; init; } = new(new ClaimsIdentity());
    /// <inheritdoc />
    public string ClientIp { get; init; } = "127.0.0.1";
    /// <inheritdoc />
    public object? Native { get; init; }
    /// <inheritdoc />
    public string? Query(string name) => QueryParameters.TryGetValue(name, out var v) ? v : null;
    /// <inheritdoc />
    public string? Cookie(string name) => Cookies.TryGetValue(name, out var v) ? v : null;
    /// <inheritdoc />
    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;
}
