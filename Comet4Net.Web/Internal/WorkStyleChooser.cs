using Comet4Net.Hosting;
using Microsoft.AspNetCore.Http;

namespace Comet4Net.Web.Internal;

/// <summary>Picks a new connection's work style: the client's request, the configured style, or the best one for the client.</summary>
internal static class WorkStyleChooser
{
    /// <summary>
    /// The configured style, unless a v2 client asked for one. <c>auto</c>: a WebSocket for v2 clients
    /// that say they can open one (<c>wsok=1</c>), a stream for the other v2 clients (they fall back by
    /// themselves); legacy clients stream in browsers that can read a response while it arrives
    /// (Chrome, Safari, Firefox, Edge, AIR, as Comet4J decided) and poll elsewhere.
    /// SSE and WebSocket are for v2 clients only.
    /// </summary>
    internal static CometWorkStyle Choose(CometOptions options, HttpContext http, CometDialect dialect, CometWorkStyle? requested, bool canWebSocket = false)
    {
        if (dialect == CometDialect.V2 && requested is { } asked) return asked;
        var configured = CometHost.ConfiguredStyle(options);
        if (configured is CometWorkStyle.Sse or CometWorkStyle.WebSocket && dialect == CometDialect.Legacy) configured = CometWorkStyle.Auto;
        if (configured != CometWorkStyle.Auto) return configured;
        if (dialect == CometDialect.V2) return canWebSocket ? CometWorkStyle.WebSocket : CometWorkStyle.Stream;
        return CanStream(http.Request.Headers.UserAgent.ToString()) ? CometWorkStyle.Stream : CometWorkStyle.LongPoll;
    }

    internal static bool CanStream(string userAgent)
    {
        if (string.IsNullOrEmpty(userAgent)) return false;
        var ua = userAgent.ToLowerInvariant();
        if (ua.Contains("msie") || ua.Contains("trident/") || ua.Contains("opera mini")) return false;
        return ua.Contains("chrome") || ua.Contains("safari") || ua.Contains("firefox") || ua.Contains("adobeair") || ua.Contains("edg/");
    }
}
