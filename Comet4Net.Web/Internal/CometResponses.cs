using System.Text;
using Comet4Net.Delivery;
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

    /// <summary>An error: the status and {"error":code,"message":text}. Never throws on a started response.</summary>
    internal static async Task ErrorAsync(HttpContext context, int status, string code, string message, int retryAfterSeconds = 0, object? extra = null)
    {
        var response = context.Response;
        if (response.HasStarted) return;
        response.StatusCode = status;
        NoCache(response);
        if (retryAfterSeconds > 0) response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.ContentType = JsonContentType;
        var body = new Dictionary<string, object?> { ["error"] = code, ["message"] = message };
        if (extra is IDictionary<string, object?> more)
            foreach (var (k, v) in more) body[k] = v;
        var bytes = Encoding.UTF8.GetBytes(JsonConvert.SerializeObject(body));
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

    /// <summary>The data of a v2 system frame, as JSON.</summary>
    internal static string SystemData(string type, object? fields = null)
    {
        var body = new Dictionary<string, object?> { ["type"] = type };
        if (fields is IDictionary<string, object?> more)
            foreach (var (k, v) in more) body[k] = v;
        return JsonConvert.SerializeObject(body);
    }

    internal static byte[] V2System(CometEngine engine, string type, object? fields = null) =>
        FrameEncoder.V2System(SystemData(type, fields), engine.NowMs);

    internal static byte[] SseSystem(string type, object? fields = null) =>
        FrameEncoder.SseSystem(SystemData(type, fields));

    /// <summary>
    /// What a v2 request says when its connection was dropped while it was attached: <c>kicked</c>
    /// (with the reason) when the server ended it, nothing when the client did or the server is stopping.
    /// </summary>
    internal static IDictionary<string, object?>? KickedFields(CometConnection connection) =>
        connection.DropReason is Events.DropReason.Server or Events.DropReason.Overflow
            ? new Dictionary<string, object?> { ["reason"] = connection.DropMessage }
            : null;

    internal static byte[] LegacyDying(CometEngine engine) =>
        FrameEncoder.LegacyFromJson(FrameEncoder.FrameJson(null, CometProtocol.SystemChannel, "\"dying\"", engine.NowMs));
}
