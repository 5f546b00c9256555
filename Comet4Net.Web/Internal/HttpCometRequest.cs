using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace Comet4Net.Web.Internal;

/// <summary>
/// The <c>conn</c> request as the engine sees it: query (and form) parameters, cookies, headers,
/// user and client IP copied at connect time, so listeners can read them after the request ended.
/// Only what listeners need is copied; the <c>HttpContext</c> itself is let go when the request ends.
/// </summary>
internal sealed class HttpCometRequest : ICometRequest
{
    private readonly Dictionary<string, string> _cookies;
    private readonly Dictionary<string, string> _headers;

    internal HttpCometRequest(HttpContext context, IReadOnlyDictionary<string, string> parameters)
    {
        Method = context.Request.Method;
        Path = context.Request.PathBase.Add(context.Request.Path).Value ?? "/";
        QueryParameters = parameters;
        _cookies = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in context.Request.Cookies) _cookies.TryAdd(k, v);
        _headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in context.Request.Headers) _headers[k] = v.ToString();
        User = context.User;
        ClientIp = ClientAddress(context);
        _native = context;
    }

    private HttpContext? _native;

    public string Method { get; }
    public string Path { get; }
    public IReadOnlyDictionary<string, string> QueryParameters { get; }
    public ClaimsPrincipal User { get; }
    public string ClientIp { get; }
    /// <summary>The request's <c>HttpContext</c> while the <c>conn</c> request runs; null afterwards (nothing keeps a finished request alive).</summary>
    public object? Native => Volatile.Read(ref _native);

    /// <summary>Lets go of the <c>HttpContext</c> once the <c>conn</c> request is answered.</summary>
    internal void Release() => Volatile.Write(ref _native, null);
    public string? Query(string name) => QueryParameters.TryGetValue(name, out var v) ? v : null;
    public string? Cookie(string name) => _cookies.TryGetValue(name, out var v) ? v : null;
    public string? Header(string name) => _headers.TryGetValue(name, out var v) ? v : null;

    /// <summary>The client's address as ASP.NET Core sees it (UseForwardedHeaders rewrites it behind a trusted proxy).</summary>
    internal static string ClientAddress(HttpContext context)
    {
        var ip = context.Connection.RemoteIpAddress;
        if (ip is null) return "unknown";
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        return ip.ToString();
    }
}
