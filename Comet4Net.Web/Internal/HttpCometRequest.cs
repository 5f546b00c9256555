using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Comet4Net.Web.Internal;

/// <summary>
/// The <c>conn</c> request as the engine sees it: query (and form) parameters, cookies, headers,
/// user and client IP copied at connect time, so listeners can read them after the request ended.
/// Only what listeners need is copied; the <c>HttpContext</c> itself is let go when the request ends.
/// </summary>
internal sealed class HttpCometRequest : ICometRequest
{
    // Kept for the connection's life: one array of names and values (the query's parameters, then the
    // headers; a few entries, searched in order) costs a fraction of dictionaries. Cookies are read
    // from the copied Cookie header when asked: Request.Cookies would add a feature (and its parsed
    // collection) to a held request.
    private readonly string[] _pairs;
    private readonly int _headersAt;
    private readonly ClaimsPrincipal? _user;

    internal HttpCometRequest(HttpContext context, IReadOnlyDictionary<string, string> parameters)
    {
        Method = context.Request.Method;
        Path = KnownStrings.Path(context.Request.PathBase.Add(context.Request.Path).Value ?? "/");
        _pairs = PairDictionary.Flatten(parameters, StringComparison.Ordinal, CopyHeaders(context.Request.Headers), StringComparison.OrdinalIgnoreCase, out _headersAt);
        // An anonymous request's principal is made on first use, not kept for every connection.
        _user = ConnectionUser.Keep(context.Features.Get<Microsoft.AspNetCore.Http.Features.Authentication.IHttpAuthenticationFeature>()?.User);
        ClientIp = ClientAddress(context);
        _native = context;
    }

    private HttpContext? _native;

    public string Method { get; }
    public string Path { get; }
    public IReadOnlyDictionary<string, string> QueryParameters => new PairDictionary(_pairs, 0, _headersAt, StringComparison.Ordinal);
    public ClaimsPrincipal User => _user ?? new ClaimsPrincipal(new ClaimsIdentity()); // anonymous: made when asked, never kept
    public string ClientIp { get; }
    /// <summary>The request's <c>HttpContext</c> while the <c>conn</c> request runs; null afterwards (nothing keeps a finished request alive).</summary>
    public object? Native => Volatile.Read(ref _native);

    /// <summary>Lets go of the <c>HttpContext</c> once the <c>conn</c> request is answered.</summary>
    internal void Release() => Volatile.Write(ref _native, null);

    /// <summary>Lets go of <paramref name="context"/> if it is still the one kept (the held SSE answer that was the conn request).</summary>
    internal void Release(HttpContext context) => Interlocked.CompareExchange(ref _native, null, context);
    public string? Query(string name) => PairDictionary.TryFind(_pairs, 0, _headersAt, name, StringComparison.Ordinal, out var v) ? v : null;
    public string? Cookie(string name) => CookieIn(Header(HeaderNames.Cookie), name);

    public string? Header(string name) => PairDictionary.TryFind(_pairs, _headersAt, _pairs.Length, name, StringComparison.OrdinalIgnoreCase, out var v) ? v : null;

    // CopyTo, not an enumeration: enumerating Kestrel's request headers through the interface leaves a
    // cached enumerator on its connection for the connection's life. Names and values that every
    // client sends alike are kept once (KnownStrings.Shared).
    private static KeyValuePair<string, string>[] CopyHeaders(IHeaderDictionary headers)
    {
        var count = headers.Count;
        if (count == 0) return [];
        var copied = new KeyValuePair<string, StringValues>[count];
        headers.CopyTo(copied, 0);
        var pairs = new KeyValuePair<string, string>[count];
        for (var i = 0; i < count; i++) pairs[i] = KeyValuePair.Create(KnownStrings.Shared(copied[i].Key), KnownStrings.Shared(copied[i].Value.ToString()));
        return pairs;
    }

    /// <summary>
    /// A cookie's value in a <c>Cookie</c> header as ASP.NET Core's <c>Request.Cookies</c> reads it:
    /// pairs split on <c>;</c> (and <c>,</c>), names without regard to case, the last of a name given
    /// twice, the value unescaped (quotes kept), an empty value as none, nothing from a header that does not parse.
    /// </summary>
    internal static string? CookieIn(string? header, string name)
    {
        if (string.IsNullOrEmpty(header) || !CookieHeaderValue.TryParseList([header], out var cookies)) return null;
        string? found = null;
        foreach (var cookie in cookies)
        {
            if (!cookie.Name.Equals(name, StringComparison.OrdinalIgnoreCase)) continue;
            if (cookie.Value.Length > 0) found = Uri.UnescapeDataString(cookie.Value.ToString());
        }
        return found;
    }

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
