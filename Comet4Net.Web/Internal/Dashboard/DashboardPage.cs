using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Comet4Net.Web.Internal.Dashboard;

/// <summary>
/// The dashboard's one page (an embedded resource: no CDN, works offline), served with a Content-Security-Policy
/// that allows its own inline script (by hash) and style, fetches to this origin only, and no framing.
/// </summary>
internal static class DashboardPage
{
    private const string ResourceName = "Comet4Net.Web.Dashboard.dashboard.html";

    internal static readonly byte[] Bytes = Load();

    internal static readonly string ContentSecurityPolicy = Policy(Encoding.UTF8.GetString(Bytes));

    private static byte[] Load()
    {
        using var stream = typeof(DashboardPage).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The dashboard page ({ResourceName}) is missing from Comet4Net.Web.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string Policy(string html)
    {
        var start = html.IndexOf("<script>", StringComparison.Ordinal) + "<script>".Length;
        var end = html.IndexOf("</script>", start, StringComparison.Ordinal);
        var hash = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(html[start..end])));
        return $"default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; " +
               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    }

    internal static IResult Serve(HttpContext http)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-cache";
        return Results.Bytes(Bytes, "text/html; charset=utf-8");
    }
}
