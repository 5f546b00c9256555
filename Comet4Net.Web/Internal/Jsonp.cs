using System.Buffers;
using System.Globalization;
using System.Text;
using Comet4Net.Web.Internal.Commands;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Internal;

/// <summary>
/// JSON-P on <c>/conn</c>: a GET with a <c>callback</c> parameter, for pages that load the endpoint with
/// script tags because they cannot use CORS. The request runs as the v2 long-polling request it would be
/// without the callback; its answer is then wrapped as <c>/**/name(json);</c> and always sent with
/// status 200 (a script tag cannot read a status): an NDJSON answer becomes the array of its frames, a
/// JSON answer the object itself, and an error the error body with <c>"status":N</c> added.
/// </summary>
internal static class Jsonp
{
    internal const string Parameter = "callback";
    internal const string ContentType = "application/javascript; charset=utf-8";

    /// <summary>
    /// Answers a request that carries <c>callback</c>: refused with 400 (plain JSON, which a script tag
    /// reports as an error) unless it is a GET, JSON-P is on and the name is safe; otherwise
    /// <paramref name="run"/> answers it into a buffer and the buffer goes out wrapped.
    /// </summary>
    internal static async Task HandleAsync(HttpContext http, CometOptions options, Func<HttpContext, Task> run)
    {
        var values = http.Request.Query[Parameter];
        var callback = values.Count == 1 ? values[0] : null;
        var refusal = !HttpMethods.IsGet(http.Request.Method) ? CometErrors.JsonpGetOnly(http.Request.Method)
            : !options.AllowJsonp ? CometErrors.JsonpOff
            : values.Count != 1 ? CometErrors.JsonpRepeated
            : !CometOptions.IsJsonpCallback(callback) ? CometErrors.JsonpBadName
            : !callback!.StartsWith(options.JsonpCallbackPrefix, StringComparison.Ordinal) ? CometErrors.JsonpPrefix(options.JsonpCallbackPrefix)
            : null;
        if (refusal is not null)
        {
            await CometResponses.ErrorAsync(http, options, refusal);
            return;
        }

        var original = http.Features.Get<IHttpResponseBodyFeature>()!;
        using var buffer = new MemoryStream();
        var buffered = new StreamResponseBodyFeature(buffer);
        http.Features.Set<IHttpResponseBodyFeature>(buffered);
        try
        {
            if (!OriginAllowed(http, options))
            {
                var from = http.Request.Headers.Origin.Count > 0 ? http.Request.Headers.Origin.ToString() : http.Request.Headers.Referer.ToString();
                await CometResponses.ErrorAsync(http, options, from.Length == 0 ? CometErrors.JsonpNoPage : CometErrors.JsonpPageRefused(from));
            }
            else
            {
                await run(http);
            }
            await buffered.CompleteAsync();
        }
        finally
        {
            http.Features.Set(original);
        }
        if (http.Response.HasStarted) return; // nothing else writes to the real body; kept as a guard
        var body = Wrap(callback!, http.Response.StatusCode, http.Response.ContentType, http.Response.Headers.RetryAfter.ToString(), buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        http.Response.Clear();
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = ContentType;
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.ContentLength = body.Length;
        try
        {
            await http.Response.Body.WriteAsync(body, http.RequestAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The page went away (or gave up on this script): its next request asks again from its ack.
        }
    }

    /// <summary>
    /// With <c>AllowedOrigins</c> empty, every page may use JSON-P (the setting itself is the opt-in, as CORS
    /// <c>*</c> is). With it set, the request must name its page (<c>Origin</c>, else <c>Referer</c>) and that
    /// page must be of the server's own origin or a listed one.
    /// </summary>
    internal static bool OriginAllowed(HttpContext http, CometOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.AllowedOrigins)) return true;
        var origin = http.Request.Headers.Origin.ToString();
        if (origin.Length == 0 && Uri.TryCreate(http.Request.Headers.Referer.ToString(), UriKind.Absolute, out var referer) && referer.Scheme is "http" or "https")
            origin = referer.GetLeftPart(UriPartial.Authority);
        return origin.Length > 0 && origin != "null" && RevivalCommand.OriginAllowed(http, options, origin);
    }

    /// <summary>
    /// <c>/**/name(json);</c>: the frames of an NDJSON answer as an array, a JSON answer as it is, anything
    /// but 200 as its (JSON) body with <c>status</c> (and <c>retryAfter</c>, seconds) added. U+2028 and
    /// U+2029, legal in JSON strings but line ends in older JavaScript, are escaped.
    /// </summary>
    internal static byte[] Wrap(string callback, int status, string? contentType, string retryAfter, ReadOnlySpan<byte> body)
    {
        var json = new ArrayBufferWriter<byte>(body.Length + callback.Length + 16);
        var mediaType = contentType is null ? "" : contentType.Split(';')[0].Trim();
        if (status == StatusCodes.Status200OK && (mediaType == "application/x-ndjson" || body.IsEmpty))
        {
            json.Write("["u8);
            var first = true;
            foreach (var range in body.Split((byte)'\n'))
            {
                var line = body[range];
                if (line.IsEmpty) continue;
                if (!first) json.Write(","u8);
                json.Write(line);
                first = false;
            }
            json.Write("]"u8);
        }
        else if (status == StatusCodes.Status200OK && mediaType == "application/json" && IsJson(body))
        {
            json.Write(body);
        }
        else
        {
            JObject error;
            try
            {
                error = body.IsEmpty ? new JObject() : JObject.Parse(Encoding.UTF8.GetString(body));
            }
            catch (JsonException)
            {
                error = new JObject { ["error"] = status >= 500 ? "internal-error" : "http-error", ["message"] = CometResponses.Sanitize(Encoding.UTF8.GetString(body)) };
            }
            if (status == StatusCodes.Status200OK && error["error"] is null) error["error"] = "internal-error"; // a 200 that is not JSON
            error["status"] = status == StatusCodes.Status200OK ? StatusCodes.Status500InternalServerError : status;
            if (int.TryParse(retryAfter, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)) error["retryAfter"] = seconds;
            json.Write(Encoding.UTF8.GetBytes(error.ToString(Formatting.None)));
        }

        var output = new ArrayBufferWriter<byte>(json.WrittenCount + callback.Length + 16);
        output.Write("/**/"u8);
        output.Write(Encoding.ASCII.GetBytes(callback));
        output.Write("("u8);
        WriteEscaped(output, json.WrittenSpan);
        output.Write(");"u8);
        return output.WrittenSpan.ToArray();
    }

    private static bool IsJson(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new System.Text.Json.Utf8JsonReader(body);
            while (reader.Read())
            {
            }
            return true;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    /// <summary>Copies UTF-8 JSON, writing U+2028 (E2 80 A8) and U+2029 (E2 80 A9) as <c>\u2028</c> and <c>\u2029</c>: they occur only inside strings.</summary>
    private static void WriteEscaped(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> json)
    {
        while (true)
        {
            var at = json.IndexOf("\u2028"u8);
            var other = json.IndexOf("\u2029"u8);
            if (at < 0 || other >= 0 && other < at) at = other;
            if (at < 0)
            {
                output.Write(json);
                return;
            }
            output.Write(json[..at]);
            output.Write(json[at + 2] == 0xA8 ? "\\u2028"u8 : "\\u2029"u8);
            json = json[(at + 3)..];
        }
    }
}
