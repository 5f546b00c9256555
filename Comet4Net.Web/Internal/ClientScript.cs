using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Comet4Net.Web.Internal;

/// <summary>Serves the embedded browser client with an ETag and caching headers.</summary>
internal sealed class ClientScript
{
    private readonly byte[] _content;
    private readonly string _etag;

    private ClientScript(byte[] content)
    {
        _content = content;
        _etag = "\"" + Convert.ToHexString(SHA256.HashData(content), 0, 8).ToLowerInvariant() + "\"";
    }

    internal static ClientScript Load(string resource)
    {
        using var stream = typeof(ClientScript).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The client script resource '{resource}' is missing from Comet4Net.Web.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return new ClientScript(buffer.ToArray());
    }

    internal static readonly Lazy<ClientScript> Full = new(() => Load("Comet4Net.Client.comet4j.js"));
    internal static readonly Lazy<ClientScript> Minified = new(() => Load("Comet4Net.Client.comet4j.min.js"));

    internal Task ServeAsync(HttpContext context)
    {
        var response = context.Response;
        response.Headers.ETag = _etag;
        response.Headers.CacheControl = "public, max-age=3600";
        response.Headers.XContentTypeOptions = "nosniff";
        if (context.Request.Headers.IfNoneMatch.ToString() == _etag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }
        response.ContentType = "application/javascript; charset=utf-8";
        response.ContentLength = _content.Length;
        if (HttpMethods.IsHead(context.Request.Method)) return Task.CompletedTask;
        return response.Body.WriteAsync(_content, context.RequestAborted).AsTask();
    }
}
