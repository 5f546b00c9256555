using System.Text;
using Comet4Net.Delivery;
using Comet4Net.Hosting;
using Microsoft.AspNetCore.Http;
using Newtonsoft.Json;

namespace Comet4Net.Web.Internal;

/// <summary>Headers and bodies shared by every /conn answer.</summary>
internal static class CometResponses
{
    internal const string LegacyContentType = "text/html;charset=UTF-8";
    internal const string V2ContentType = "application/x-ndjson; charset=utf-8";
    internal const string SseContentType = "text/event-stream; charset=utf-8";
    internal const string JsonContentType = "application/json; charset=utf-8";

    internal static void NoCache(HttpResponse response)
    {
        var h = response.Headers;
        h.CacheControl = "no-cache, no-store";
        h.Pragma = "no-cache";
        h.Expires = "0";
        h.XContentTypeOptions = "nosniff";
    }

    /// <summary>An error of the catalogue (<see cref="CometErrors"/>), in the configured language.</summary>
    internal static Task ErrorAsync(HttpContext context, CometOptions options, CometError error, TimeSpan retryAfter = default, object? extra = null) =>
        ErrorAsync(context, error.Status, error.Code, error.Text(options), (int)Math.Ceiling(retryAfter.TotalSeconds), extra);

    /// <summary>An error: the status and {"error":code,"message":text}. Never throws on a started response.</summary>
    internal static async Task ErrorAsync(HttpContext context, int status, string code, string message, int retryAfterSeconds = 0, object? extra = null)
    {
        var response = context.Response;
        if (response.HasStarted) return;
        response.StatusCode = status;
        NoCache(response);
        if (retryAfterSeconds > 0) response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.ContentType = JsonContentType;
        var bytes = Encoding.UTF8.GetBytes(CometFrames.ErrorJson(code, message, extra as IDictionary<string, object?>));
        response.ContentLength = bytes.Length;
        try
        {
            await response.Body.WriteAsync(bytes, context.RequestAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client left before reading its error: nothing more to do.
        }
    }

    /// <summary>A whole answer with a known length.</summary>
    internal static async Task WriteAsync(HttpContext http, string contentType, byte[] body)
    {
        var response = http.Response;
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        if (body.Length > 0) await response.Body.WriteAsync(body, http.RequestAborted);
    }

    /// <summary>A JSON answer (200).</summary>
    internal static Task JsonAsync(HttpContext http, object value) =>
        WriteAsync(http, JsonContentType, Encoding.UTF8.GetBytes(JsonConvert.SerializeObject(value)));

    /// <summary>Headers of a long-lived answer: no buffering or transformation by proxies, no compression middleware.</summary>
    internal static void Streaming(HttpResponse response)
    {
        var h = response.Headers;
        h.CacheControl = "no-cache, no-store, no-transform";
        h["X-Accel-Buffering"] = "no";
        h.ContentEncoding = "identity";
    }

    /// <summary>Echoes client input safely: at most 40 printable ASCII characters.</summary>
    internal static string Sanitize(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        var sb = new StringBuilder();
        foreach (var c in value)
        {
            if (sb.Length >= 40) { sb.Append('…'); break; }
            sb.Append(c is >= ' ' and <= '~' ? c : '?');
        }
        return sb.ToString();
    }

    /// <summary>The data of a v2 system frame, as JSON.</summary>
    internal static string SystemData(string type, object? fields = null)
    {
        return CometFrames.SystemData(type, fields as IDictionary<string, object?>);
    }

    internal static byte[] V2System(CometEngine engine, string type, object? fields = null) =>
        CometFrames.V2System(type, fields as IDictionary<string, object?>, engine.Host.NowMs);

    internal static byte[] SseSystem(string type, object? fields = null) =>
        CometFrames.SseSystem(type, fields as IDictionary<string, object?>);

    internal static byte[] SseUnnamedSystem(string type, object? fields = null) =>
        CometFrames.SseUnnamedSystem(type, fields as IDictionary<string, object?>, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    /// <summary>The fields of a move notice: the client resumes after this many ms (on whatever node it reaches).</summary>
    internal static IDictionary<string, object?> MoveFields(int afterMs) => new Dictionary<string, object?> { ["after"] = afterMs };

    /// <summary>The fields of a gap notice.</summary>
    internal static IDictionary<string, object?> GapFields(DeliveryGap gap) =>
        new Dictionary<string, object?> { ["from"] = gap.From, ["to"] = gap.To };

    /// <summary>
    /// What a v2 request says when its connection was dropped while it was attached: <c>kicked</c>
    /// (with the reason) when the server ended it, nothing when the client did or the server is stopping.
    /// </summary>
    internal static IDictionary<string, object?>? KickedFields(CometConnection connection) =>
        connection.DropReason is Events.DropReason.Server or Events.DropReason.Overflow
            ? new Dictionary<string, object?> { ["reason"] = connection.DropMessage }
            : null;

    internal static byte[] LegacyDying(CometEngine engine) =>
        CometFrames.LegacyFromJson(CometFrames.Json(null, CometProtocol.SystemChannel, "\"dying\"", engine.Host.NowMs));
}
