using System.IO.Compression;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Comet4Net.Web.Internal;

/// <summary>
/// Serves the embedded browser client with an ETag and caching headers, as <c>br</c> or <c>gzip</c>
/// from the precompressed copies (built by Comet4Net.Client.js/build.js) when the request's
/// <c>Accept-Encoding</c> allows it, else as is. Each encoding has an ETag of its own.
/// </summary>
internal sealed class ClientScript
{
    private readonly Representation _identity;
    private readonly Representation? _gzip;
    private readonly Representation? _brotli;

    /// <summary>
    /// A compressed copy is used only when it decompresses to exactly <paramref name="identity"/>:
    /// one built from an older source (src edited, npm run build not rerun) is left out, not served.
    /// </summary>
    internal ClientScript(byte[] identity, byte[]? gzip = null, byte[]? brotli = null)
    {
        var hash = Convert.ToHexString(SHA256.HashData(identity), 0, 8).ToLowerInvariant();
        _identity = new Representation(identity, "\"" + hash + "\"", null);
        if (gzip is not null && Decompresses(gzip, identity, s => new GZipStream(s, CompressionMode.Decompress)))
            _gzip = new Representation(gzip, "\"" + hash + "-gzip\"", "gzip");
        if (brotli is not null && Decompresses(brotli, identity, s => new BrotliStream(s, CompressionMode.Decompress)))
            _brotli = new Representation(brotli, "\"" + hash + "-br\"", "br");
    }

    /// <summary>Whether the client is served br / gzip (false: a compressed copy is missing or stale).</summary>
    internal bool HasBrotli => _brotli is not null;

    internal bool HasGzip => _gzip is not null;

    internal static ClientScript Load(string resource) =>
        new(Read(resource), Read(resource + ".gz"), Read(resource + ".br"));

    private static byte[] Read(string resource)
    {
        using var stream = typeof(ClientScript).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The client script resource '{resource}' is missing from Comet4Net.Web.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    private static bool Decompresses(byte[] compressed, byte[] identity, Func<Stream, Stream> decompressor)
    {
        try
        {
            using var input = decompressor(new MemoryStream(compressed));
            using var output = new MemoryStream(identity.Length);
            input.CopyTo(output);
            return output.GetBuffer().AsSpan(0, (int)output.Length).SequenceEqual(identity);
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    internal static readonly Lazy<ClientScript> Full = new(() => Load("Comet4Net.Client.comet4j.js"));
    internal static readonly Lazy<ClientScript> Minified = new(() => Load("Comet4Net.Client.comet4j.min.js"));

    internal Task ServeAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var chosen = Choose(request.Headers.AcceptEncoding);
        response.Headers.ETag = chosen.ETag;
        response.Headers.Vary = HeaderNames.AcceptEncoding;
        response.Headers.CacheControl = "public, max-age=3600";
        response.Headers.XContentTypeOptions = "nosniff";
        if (Matches(request.Headers.IfNoneMatch, chosen.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }
        response.ContentType = "application/javascript; charset=utf-8";
        if (chosen.Encoding is not null) response.Headers.ContentEncoding = chosen.Encoding;
        response.ContentLength = chosen.Content.Length;
        if (HttpMethods.IsHead(request.Method)) return Task.CompletedTask;
        return response.Body.WriteAsync(chosen.Content, context.RequestAborted).AsTask();
    }

    /// <summary>
    /// The representation Accept-Encoding asks for: the acceptable coding (q &gt; 0, named or by <c>*</c>)
    /// with the highest q, br before gzip on a tie; identity when none is, when the header is absent or
    /// malformed, or when it names identity with a higher q than both.
    /// </summary>
    private Representation Choose(StringValues acceptEncoding)
    {
        if (StringValues.IsNullOrEmpty(acceptEncoding) || (_brotli is null && _gzip is null)) return _identity;
        if (!StringWithQualityHeaderValue.TryParseList(acceptEncoding, out var codings)) return _identity;
        double? br = null, gzip = null, identity = null, any = null;
        foreach (var coding in codings)
        {
            var q = coding.Quality ?? 1;
            var name = coding.Value.Value;
            if (string.Equals(name, "br", StringComparison.OrdinalIgnoreCase)) br ??= q;
            else if (string.Equals(name, "gzip", StringComparison.OrdinalIgnoreCase) || string.Equals(name, "x-gzip", StringComparison.OrdinalIgnoreCase)) gzip ??= q;
            else if (string.Equals(name, "identity", StringComparison.OrdinalIgnoreCase)) identity ??= q;
            else if (name == "*") any ??= q;
        }
        var qBrotli = _brotli is null ? 0 : br ?? any ?? 0;
        var qGzip = _gzip is null ? 0 : gzip ?? any ?? 0;
        var best = Math.Max(qBrotli, qGzip);
        if (best <= 0 || (identity is { } qIdentity && qIdentity > best)) return _identity;
        return qBrotli >= qGzip ? _brotli! : _gzip!;
    }

    /// <summary>If-None-Match: <c>*</c>, or a listed entity tag equal to <paramref name="etag"/> (weak comparison, RFC 9110).</summary>
    private static bool Matches(StringValues ifNoneMatch, string etag)
    {
        if (StringValues.IsNullOrEmpty(ifNoneMatch) || !EntityTagHeaderValue.TryParseList(ifNoneMatch, out var tags)) return false;
        var current = new EntityTagHeaderValue(etag);
        foreach (var tag in tags)
        {
            if (tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(current, useStrongComparison: false)) return true;
        }
        return false;
    }

    private sealed record Representation(byte[] Content, string ETag, string? Encoding);
}
