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
    // Kept for the connection's life: flat arrays of name/value pairs (a few entries, searched in
    // order) cost a fraction of dictionaries.
    private readonly PairDictionary _cookies;
    private readonly PairDictionary _headers;
    private readonly ClaimsPrincipal? _user;

    internal HttpCometRequest(HttpContext context, IReadOnlyDictionary<string, string> parameters)
    {
        Method = context.Request.Method;
        Path = KnownStrings.Path(context.Request.PathBase.Add(context.Request.Path).Value ?? "/");
        QueryParameters = parameters.Count == 0 ? PairDictionary.Empty : new PairDictionary(parameters, StringComparison.Ordinal);
        var cookies = context.Request.Cookies;
        _cookies = cookies.Count == 0 ? PairDictionary.Empty : new PairDictionary(cookies, StringComparison.Ordinal);
        _headers = new PairDictionary(context.Request.Headers.Select(h => KeyValuePair.Create(h.Key, h.Value.ToString())), StringComparison.OrdinalIgnoreCase);
        // An anonymous request's principal is made on first use, not kept for every connection.
        _user = ConnectionUser.Keep(context.Features.Get<Microsoft.AspNetCore.Http.Features.Authentication.IHttpAuthenticationFeature>()?.User);
        ClientIp = ClientAddress(context);
        _native = context;
    }

    private HttpContext? _native;

    public string Method { get; }
    public string Path { get; }
    public IReadOnlyDictionary<string, string> QueryParameters { get; }
    public ClaimsPrincipal User => _user ?? new ClaimsPrincipal(new ClaimsIdentity()); // anonymous: made when asked, never kept
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
        // The feature, not context.Connection: that object would stay with the request's connection for its life.
        var ip = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpConnectionFeature>()?.RemoteIpAddress;
        if (ip is null) return "unknown";
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        return KnownStrings.Address(ip);
    }
}
