using System.IO.Compression;
using System.Net;
using Comet4Net.Web.Internal;
using Microsoft.AspNetCore.Http;

namespace Comet4Net.Web.Tests;

/// <summary>
/// /comet4j.js and /comet4j.min.js as a browser gets them: br or gzip from the precompressed copies
/// when Accept-Encoding allows it, identity otherwise, each encoding with its own ETag.
/// </summary>
[TestClass]
public sealed class ClientScriptTests
{
    private static readonly string[] Paths = ["/comet4j.js", "/comet4j.min.js"];

    private static async Task<HttpResponseMessage> GetAsync(CometTestServer server, string path, string? acceptEncoding, string? ifNoneMatch = null, HttpMethod? method = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        if (acceptEncoding is not null) request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        if (ifNoneMatch is not null) request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        return await server.Client.SendAsync(request);
    }

    private static byte[] Decode(byte[] body, string? encoding)
    {
        using Stream decoder = encoding switch
        {
            null => new MemoryStream(body),
            "gzip" => new GZipStream(new MemoryStream(body), CompressionMode.Decompress),
            "br" => new BrotliStream(new MemoryStream(body), CompressionMode.Decompress),
            _ => throw new AssertFailedException("unexpected Content-Encoding " + encoding),
        };
        using var output = new MemoryStream();
        decoder.CopyTo(output);
        return output.ToArray();
    }

    private static string? EncodingOf(HttpResponseMessage response) => response.Content.Headers.ContentEncoding.SingleOrDefault();

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Each_encoding_decompresses_to_exactly_the_identity_bytes_with_its_own_headers()
    {
        await using var server = await CometTestServer.StartAsync();
        foreach (var path in Paths)
        {
            using var plain = await GetAsync(server, path, null);
            Assert.AreEqual(HttpStatusCode.OK, plain.StatusCode, path);
            Assert.IsNull(EncodingOf(plain), path);
            var identity = await plain.Content.ReadAsByteArrayAsync();
            var text = System.Text.Encoding.UTF8.GetString(identity);
            Assert.IsTrue(text.StartsWith("/*", StringComparison.Ordinal) && text.Contains("Comet4Net", StringComparison.Ordinal), path + ": the client script");
            var etags = new HashSet<string> { plain.Headers.ETag!.Tag };

            foreach (var encoding in new[] { "gzip", "br" })
            {
                using var response = await GetAsync(server, path, encoding);
                Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, $"{path} {encoding}");
                Assert.AreEqual(encoding, EncodingOf(response), $"{path} {encoding}");
                var body = await response.Content.ReadAsByteArrayAsync();
                Assert.AreEqual(body.Length, response.Content.Headers.ContentLength, $"{path} {encoding}: Content-Length");
                Assert.IsLessThan(identity.Length / 2, body.Length, $"{path} {encoding}: compressed");
                CollectionAssert.AreEqual(identity, Decode(body, encoding), $"{path} {encoding}: not the identity bytes once decompressed");
                Assert.AreEqual("application/javascript", response.Content.Headers.ContentType?.MediaType);
                Assert.Contains("Accept-Encoding", response.Headers.Vary, $"{path} {encoding}: Vary");
                Assert.AreEqual(TimeSpan.FromHours(1), response.Headers.CacheControl?.MaxAge);
                Assert.IsFalse(response.Headers.ETag!.IsWeak);
                Assert.IsTrue(etags.Add(response.Headers.ETag.Tag), $"{path} {encoding}: the ETag of another encoding");
            }
            Assert.AreEqual(identity.Length, plain.Content.Headers.ContentLength, $"{path}: Content-Length");
            Assert.Contains("Accept-Encoding", plain.Headers.Vary, $"{path}: Vary on the identity answer too");
        }
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Accept_encoding_is_honoured_q0_refuses_and_br_is_preferred()
    {
        await using var server = await CometTestServer.StartAsync();
        (string header, string? expected)[] cases =
        [
            ("gzip, deflate, br, zstd", "br"), // what browsers send
            ("gzip, deflate", "gzip"),
            ("br", "br"),
            ("GZIP", "gzip"),
            ("x-gzip", "gzip"),
            ("*", "br"),
            ("br;q=0.5, gzip", "gzip"),
            ("br;q=0.9, gzip;q=0.9", "br"),
            ("br;q=0, gzip", "gzip"),
            ("gzip;q=0, br;q=0", null),
            ("br;q=0, *", "gzip"),
            ("br;q=0, gzip;q=0, *", null),
            ("*;q=0", null),
            ("*;q=0, gzip", "gzip"),
            ("identity;q=0, gzip", "gzip"),
            ("identity, gzip;q=0.5", null),
            ("deflate, zstd", null),
            ("identity", null),
            ("", null),
        ];
        foreach (var (header, expected) in cases)
        {
            using var response = await GetAsync(server, "/comet4j.min.js", header);
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, $"Accept-Encoding: {header}");
            Assert.AreEqual(expected, EncodingOf(response), $"Accept-Encoding: {header}");
            var body = await response.Content.ReadAsByteArrayAsync();
            Assert.AreEqual(body.Length, response.Content.Headers.ContentLength, $"Accept-Encoding: {header}");
            Decode(body, expected); // it is what Content-Encoding says
        }
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Each_encoding_gets_304_on_its_own_etag_only_and_head_tells_the_same_headers()
    {
        await using var server = await CometTestServer.StartAsync();
        foreach (var path in Paths)
        {
            var etags = new Dictionary<string, string>();
            foreach (var encoding in new[] { "identity", "gzip", "br" })
            {
                using var first = await GetAsync(server, path, encoding);
                var body = await first.Content.ReadAsByteArrayAsync();
                var etag = first.Headers.ETag!.Tag;
                etags[encoding] = etag;

                using var again = await GetAsync(server, path, encoding, etag);
                Assert.AreEqual(HttpStatusCode.NotModified, again.StatusCode, $"{path} {encoding}");
                Assert.AreEqual(etag, again.Headers.ETag?.Tag, $"{path} {encoding}");
                Assert.Contains("Accept-Encoding", again.Headers.Vary, $"{path} {encoding}: Vary on 304");
                Assert.IsEmpty(await again.Content.ReadAsByteArrayAsync());

                using var weak = await GetAsync(server, path, encoding, "\"other\", W/" + etag);
                Assert.AreEqual(HttpStatusCode.NotModified, weak.StatusCode, $"{path} {encoding}: a weak form in a list (as proxies rewrite it)");

                using var head = await GetAsync(server, path, encoding, method: HttpMethod.Head);
                Assert.AreEqual(HttpStatusCode.OK, head.StatusCode, $"{path} {encoding}: HEAD");
                Assert.AreEqual(body.Length, head.Content.Headers.ContentLength, $"{path} {encoding}: HEAD Content-Length");
                Assert.AreEqual(EncodingOf(first), EncodingOf(head), $"{path} {encoding}: HEAD Content-Encoding");
                Assert.AreEqual(etag, head.Headers.ETag?.Tag);
                Assert.IsEmpty(await head.Content.ReadAsByteArrayAsync());

                using var headNotModified = await GetAsync(server, path, encoding, etag, HttpMethod.Head);
                Assert.AreEqual(HttpStatusCode.NotModified, headNotModified.StatusCode, $"{path} {encoding}: HEAD If-None-Match");
            }

            // Another encoding's ETag is another representation: the full answer, in the encoding asked for.
            using var gzipWithBrotliTag = await GetAsync(server, path, "gzip", etags["br"]);
            Assert.AreEqual(HttpStatusCode.OK, gzipWithBrotliTag.StatusCode, path);
            Assert.AreEqual("gzip", EncodingOf(gzipWithBrotliTag));
            using var identityWithGzipTag = await GetAsync(server, path, null, etags["gzip"]);
            Assert.AreEqual(HttpStatusCode.OK, identityWithGzipTag.StatusCode, path);
            Assert.IsNull(EncodingOf(identityWithGzipTag));
            using var any = await GetAsync(server, path, "br", "*");
            Assert.AreEqual(HttpStatusCode.NotModified, any.StatusCode, path);
        }
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_compressed_copy_that_is_not_the_script_is_never_served()
    {
        var identity = "JS.version = '9';"u8.ToArray();
        var stale = Compress("JS.version = '8';"u8.ToArray());
        var script = new ClientScript(identity, stale, [1, 2, 3]);
        Assert.IsFalse(script.HasGzip);
        Assert.IsFalse(script.HasBrotli);

        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Headers.AcceptEncoding = "gzip, br";
        context.Response.Body = new MemoryStream();
        await script.ServeAsync(context);
        Assert.AreEqual(200, context.Response.StatusCode);
        Assert.AreEqual(0, context.Response.Headers.ContentEncoding.Count);
        CollectionAssert.AreEqual(identity, ((MemoryStream)context.Response.Body).ToArray());

        // The embedded copies are the current scripts (a stale dist/ would leave them out).
        Assert.IsTrue(ClientScript.Full.Value.HasGzip && ClientScript.Full.Value.HasBrotli, "dist/comet4j.js.gz/.br: run npm run build");
        Assert.IsTrue(ClientScript.Minified.Value.HasGzip && ClientScript.Minified.Value.HasBrotli, "dist/comet4j.min.js.gz/.br: run npm run build");

        static byte[] Compress(byte[] bytes)
        {
            using var output = new MemoryStream();
            using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize)) gzip.Write(bytes);
            return output.ToArray();
        }
    }
}
