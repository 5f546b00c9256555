using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Comet4Net.Delivery;
using Comet4Net.Events;
using Comet4Net.Web.Internal.Transports;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Newtonsoft.Json;

namespace Comet4Net.Web.Internal;

/// <summary>
/// The <c>/conn</c> endpoint: reads <c>cmd</c>, checks the request, and hands it to a transport.
/// Every bad input ends here with a 4xx and a JSON body; nothing a client sends reaches a 500.
/// </summary>
internal sealed class CometRequestHandler(CometContext context, ILogger<CometRequestHandler> logger)
{
    private CometEngine Engine => context.Engine;
    private CometOptions Options => context.Options;

    internal async Task HandleAsync(HttpContext http)
    {
        try
        {
            await HandleCoreAsync(http);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && http.RequestAborted.IsCancellationRequested)
        {
            // The client went away mid-request.
        }
        catch (BadHttpRequestException e)
        {
            await CometResponses.ErrorAsync(http, e.StatusCode, "bad-request", e.Message);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Comet request failed");
            Engine.ReportError(null, e, null);
            await CometResponses.ErrorAsync(http, 500, "internal-error", Text("The server failed to handle the request.", "服务器处理请求失败。"));
        }
    }

    private async Task HandleCoreAsync(HttpContext http)
    {
        var request = http.Request;
        var isPost = HttpMethods.IsPost(request.Method);
        if (!HttpMethods.IsGet(request.Method) && !isPost && !HttpMethods.IsHead(request.Method))
        {
            http.Response.Headers.Allow = "GET, POST";
            await CometResponses.ErrorAsync(http, 405, "method-not-allowed", Text($"{Sanitize(request.Method)} is not allowed on this endpoint: use GET or POST.", "仅支持 GET 或 POST。"));
            return;
        }
        if ((request.QueryString.Value?.Length ?? 0) > Options.MaxQueryLength)
        {
            await CometResponses.ErrorAsync(http, 414, "query-too-long", Text($"The query string is longer than {Options.MaxQueryLength} characters.", $"查询字符串超过 {Options.MaxQueryLength} 个字符。"));
            return;
        }
        var parameters = await ReadParametersAsync(http, isPost);
        if (parameters is null) return;

        var cmd = parameters.GetValueOrDefault(CometProtocol.FlagAction);
        switch (cmd)
        {
            case CometProtocol.CmdConnect:
                await ConnectAsync(http, parameters);
                break;
            case CometProtocol.CmdRevival:
                await RevivalAsync(http, parameters);
                break;
            case CometProtocol.CmdDrop:
                await DropAsync(http, parameters);
                break;
            case "sub":
            case "unsub":
            case "pub":
            case "count":
                await ChannelCommandAsync(http, parameters, cmd);
                break;
            case null or "":
                await CometResponses.ErrorAsync(http, 400, "bad-request", Text("The parameter 'cmd' is missing: expected conn, revival or drop.", "缺少参数 cmd（应为 conn、revival 或 drop）。"));
                break;
            default:
                await CometResponses.ErrorAsync(http, 400, "bad-request", Text($"Unknown cmd '{Sanitize(cmd)}': expected conn, revival or drop.", $"未知的 cmd '{Sanitize(cmd)}'（应为 conn、revival 或 drop）。"));
                break;
        }
    }

    /// <summary>Query parameters, plus form fields for a form POST. Null if the request was bad (already answered).</summary>
    private async Task<Dictionary<string, string>?> ReadParametersAsync(HttpContext http, bool isPost)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in http.Request.Query) Add(parameters, key, value);
        if (isPost && http.Request.HasFormContentType)
        {
            if (http.Request.ContentLength > Options.MaxQueryLength)
            {
                await CometResponses.ErrorAsync(http, 413, "body-too-large", Text($"The form body is longer than {Options.MaxQueryLength} bytes.", "请求体过大。"));
                return null;
            }
            try
            {
                var form = await http.Request.ReadFormAsync(new Microsoft.AspNetCore.Http.Features.FormOptions
                {
                    ValueCountLimit = 64,
                    KeyLengthLimit = 256,
                    ValueLengthLimit = Options.MaxQueryLength,
                    BufferBodyLengthLimit = Options.MaxQueryLength,
                    MultipartBodyLengthLimit = Options.MaxQueryLength,
                }, http.RequestAborted);
                foreach (var (key, value) in form) Add(parameters, key, value);
            }
            catch (Exception e) when (e is InvalidDataException or BadHttpRequestException or FormatException or IOException && !http.RequestAborted.IsCancellationRequested)
            {
                await CometResponses.ErrorAsync(http, 400, "bad-request", Text("The form body could not be read: " + e.Message, "无法读取表单：" + e.Message));
                return null;
            }
        }
        return parameters;
    }

    private static void Add(Dictionary<string, string> parameters, string key, StringValues value)
    {
        if (value.Count > 0) parameters.TryAdd(key, value[0] ?? "");
    }

    // ------------------------------------------------------------------ conn

    private async Task ConnectAsync(HttpContext http, Dictionary<string, string> p)
    {
        var cv = p.GetValueOrDefault(CometProtocol.FlagClientVersion) ?? "";
        string? requested = null;
        if (p.TryGetValue(CometProtocol.FlagWorkStyle, out var wsText))
        {
            requested = WorkStyles.Parse(wsText);
            if (requested is null or WorkStyles.Auto && !string.Equals(wsText, "auto", StringComparison.OrdinalIgnoreCase))
            {
                await CometResponses.ErrorAsync(http, 400, "bad-request", Text($"Unknown ws '{Sanitize(wsText)}': expected stream, lpool, sse or auto.", $"未知的 ws '{Sanitize(wsText)}'。"));
                return;
            }
            if (requested == WorkStyles.Auto) requested = null;
        }
        var dialect = IsV2(cv, p) || requested == WorkStyles.Sse ? CometDialect.V2 : CometDialect.Legacy;
        if (dialect == CometDialect.Legacy && !Options.AllowLegacyClients)
        {
            await CometResponses.ErrorAsync(http, 403, "forbidden", Text(
                "Legacy clients (comet4j 0.x) are not allowed here: they cannot prove they own their connection. The application can allow them with Comet:AllowLegacyClients=true.",
                "此服务器不接受旧版客户端（comet4j 0.x）；应用可设置 Comet:AllowLegacyClients=true 允许。"));
            return;
        }
        var style = ChooseWorkStyle(http, dialect, requested);
        long? resumeAfter = null;
        if (style == WorkStyles.Sse)
        {
            if (!TryReadAck(http, p, out var ack))
            {
                await BadAck(http);
                return;
            }
            if (ack > 0) resumeAfter = ack;
        }

        List<string>? subscribe = null;
        if (dialect == CometDialect.V2 && p.TryGetValue("sub", out var subText))
        {
            subscribe = ParseChannels(subText);
            if (subscribe is null)
            {
                await CometResponses.ErrorAsync(http, 400, "bad-request", Text("'sub' must be channel names (A-Z a-z 0-9 _ . -, at most 64 characters) separated by commas.", "sub 参数格式错误。"));
                return;
            }
        }
        var snapshot = new HttpCometRequest(http, p);
        var result = Engine.Connect(snapshot, dialect, style, cv.Length > 32 ? cv[..32] : cv, resumeAfter, subscribe);
        if (result.Connection is not { } connection)
        {
            await CometResponses.ErrorAsync(http, result.Status, result.Error!, result.Message!, result.RetryAfterSeconds);
            return;
        }

        CometResponses.NoCache(http.Response);
        if (dialect == CometDialect.Legacy)
        {
            var data = JsonConvert.SerializeObject(new Dictionary<string, object?>
            {
                ["cId"] = connection.Id,
                ["channels"] = context.Channels,
                ["ws"] = style,
                ["timeout"] = Options.Timeout,
            });
            var frame = FrameEncoder.LegacyFromJson(FrameEncoder.FrameJson(null, CometProtocol.SystemChannel, data, Engine.NowMs));
            await WriteAsync(http, CometResponses.LegacyContentType, frame);
            return;
        }

        var connectData = CometResponses.SystemData("conn", new Dictionary<string, object?>
        {
            ["cId"] = connection.Id,
            ["cs"] = connection.Secret,
            ["channels"] = context.Channels,
            ["ws"] = style,
            ["timeout"] = Options.Timeout,
            ["heartbeat"] = Options.Heartbeat,
            ["seq"] = connection.StartSeq,
            ["v"] = 2,
        });
        if (style == WorkStyles.Sse)
        {
            await SseTransport.RunAsync(Engine, connection, http, connection.StartSeq, connectData);
            return;
        }
        await WriteAsync(http, CometResponses.V2ContentType, FrameEncoder.V2System(connectData, Engine.NowMs));
    }

    private static bool IsV2(string cv, Dictionary<string, string> p)
    {
        if (p.GetValueOrDefault("v") == "2") return true;
        var dot = cv.IndexOf('.');
        var major = dot < 0 ? cv : cv[..dot];
        return int.TryParse(major, NumberStyles.None, CultureInfo.InvariantCulture, out var m) && m >= 2;
    }

    /// <summary>
    /// The configured style, unless a v2 client asked for one. <c>auto</c>: v2 clients stream
    /// (they fall back by themselves); legacy clients stream in browsers that can read a response
    /// while it arrives (Chrome, Safari, Firefox, Edge, AIR, as Comet4J decided) and poll elsewhere.
    /// </summary>
    private string ChooseWorkStyle(HttpContext http, CometDialect dialect, string? requested)
    {
        if (dialect == CometDialect.V2 && requested is not null) return requested;
        var configured = WorkStyles.Parse(Options.WorkStyle) ?? WorkStyles.Auto;
        if (configured == WorkStyles.Sse && dialect == CometDialect.Legacy) configured = WorkStyles.Auto;
        if (configured != WorkStyles.Auto) return configured;
        if (dialect == CometDialect.V2) return WorkStyles.Stream;
        var agent = http.Request.Headers.UserAgent.ToString();
        return CanStream(agent) ? WorkStyles.Stream : WorkStyles.LongPoll;
    }

    internal static bool CanStream(string userAgent)
    {
        if (string.IsNullOrEmpty(userAgent)) return false;
        var ua = userAgent.ToLowerInvariant();
        if (ua.Contains("msie") || ua.Contains("trident/") || ua.Contains("opera mini")) return false;
        return ua.Contains("chrome") || ua.Contains("safari") || ua.Contains("firefox") || ua.Contains("adobeair") || ua.Contains("edg/");
    }

    // ------------------------------------------------------------------ revival

    private async Task RevivalAsync(HttpContext http, Dictionary<string, string> p)
    {
        var connection = await FindAsync(http, p);
        if (connection is null) return;
        if (connection.Dialect == CometDialect.Legacy)
        {
            if (connection.WorkStyle == WorkStyles.Stream) await StreamTransport.RunAsync(Engine, connection, http, 0);
            else await LongPollTransport.RunAsync(Engine, connection, http, 0);
            return;
        }
        if (p.TryGetValue(CometProtocol.FlagWorkStyle, out var wsText))
        {
            var ws = WorkStyles.Parse(wsText);
            if (ws is null or WorkStyles.Auto)
            {
                await CometResponses.ErrorAsync(http, 400, "bad-request", Text($"Unknown ws '{Sanitize(wsText)}': expected stream, lpool or sse.", $"未知的 ws '{Sanitize(wsText)}'。"));
                return;
            }
            connection.WorkStyle = ws;
        }
        if (!TryReadAck(http, p, out var ack))
        {
            await BadAck(http);
            return;
        }
        CometResponses.NoCache(http.Response);
        switch (connection.WorkStyle)
        {
            case WorkStyles.Sse:
                await SseTransport.RunAsync(Engine, connection, http, ack, null);
                break;
            case WorkStyles.Stream:
                await StreamTransport.RunAsync(Engine, connection, http, ack);
                break;
            default:
                await LongPollTransport.RunAsync(Engine, connection, http, ack);
                break;
        }
    }

    /// <summary>
    /// The client's last processed sequence number: <c>ack</c> or the <c>Last-Event-ID</c> header,
    /// the higher of the two when both come (an EventSource keeps its first URL but updates the header).
    /// </summary>
    private static bool TryReadAck(HttpContext http, Dictionary<string, string> p, out long ack)
    {
        ack = 0;
        foreach (var text in new[] { p.GetValueOrDefault(CometProtocol.FlagAck), http.Request.Headers["Last-Event-ID"].ToString() })
        {
            if (string.IsNullOrEmpty(text)) continue;
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)) return false;
            ack = Math.Max(ack, value);
        }
        return true;
    }

    private Task BadAck(HttpContext http) =>
        CometResponses.ErrorAsync(http, 400, "bad-request", Text("'ack' (or Last-Event-ID) must be a whole number, 0 or more.", "ack（或 Last-Event-ID）必须是非负整数。"));

    // ------------------------------------------------------------------ drop

    private async Task DropAsync(HttpContext http, Dictionary<string, string> p)
    {
        var connection = await FindAsync(http, p);
        if (connection is null) return;
        var dropped = Engine.Drop(connection, DropReason.Client);
        CometResponses.NoCache(http.Response);
        if (connection.Dialect == CometDialect.Legacy)
        {
            await WriteAsync(http, CometResponses.LegacyContentType, []);
            return;
        }
        if (!dropped)
        {
            await CometResponses.ErrorAsync(http, 409, "drop-vetoed", Text("The application kept the connection open.", "应用拒绝断开该连接。"));
            return;
        }
        await WriteAsync(http, CometResponses.JsonContentType, "{\"ok\":true}"u8.ToArray());
    }

    // ------------------------------------------------------------------ channels (v2)

    private static List<string>? ParseChannels(string text)
    {
        var channels = new List<string>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!CometContext.IsValidChannelName(part) || channels.Count >= 256) return null;
            if (!channels.Contains(part)) channels.Add(part);
        }
        return channels;
    }

    /// <summary>
    /// <c>sub</c> (with <c>history=N</c>), <c>unsub</c>, <c>pub</c> (<c>data</c> as JSON, optional
    /// <c>event</c>) and <c>count</c>, all for a v2 connection proven by its secret.
    /// </summary>
    private async Task ChannelCommandAsync(HttpContext http, Dictionary<string, string> p, string cmd)
    {
        var connection = await FindAsync(http, p);
        if (connection is null) return;
        if (connection.Dialect != CometDialect.V2)
        {
            await CometResponses.ErrorAsync(http, 400, "bad-request", Text($"cmd={cmd} is for v2 clients.", $"cmd={cmd} 仅用于 v2 客户端。"));
            return;
        }
        var channel = p.GetValueOrDefault("channel");
        if (!CometContext.IsValidChannelName(channel))
        {
            await CometResponses.ErrorAsync(http, 400, "bad-request", Text("'channel' must be a channel name: 1 to 64 characters from A-Z a-z 0-9 _ . -", "channel 参数格式错误。"));
            return;
        }
        CometResponses.NoCache(http.Response);
        switch (cmd)
        {
            case "sub":
            {
                var history = 0;
                if (p.TryGetValue("history", out var h) && (!int.TryParse(h, NumberStyles.None, CultureInfo.InvariantCulture, out history) || history > 1000))
                {
                    await CometResponses.ErrorAsync(http, 400, "bad-request", Text("'history' must be a number from 0 to 1000.", "history 必须是 0 到 1000 的数字。"));
                    return;
                }
                var past = Engine.Subscribe(connection, channel!, history);
                if (past is null)
                {
                    await CometResponses.ErrorAsync(http, 403, "refused", Text($"The application refused the subscription to '{channel}'.", $"应用拒绝订阅 '{channel}'。"));
                    return;
                }
                // The answer: the history frames (marked "history":true), oldest first, then an ok frame.
                using var body = new MemoryStream();
                foreach (var m in past) body.Write(FrameEncoder.V2(m, history: true));
                body.Write(CometResponses.V2System(Engine, "subscribed", new Dictionary<string, object?> { ["channel"] = channel, ["history"] = past.Count }));
                await WriteAsync(http, CometResponses.V2ContentType, body.ToArray());
                return;
            }
            case "unsub":
                Engine.Unsubscribe(connection, channel!);
                await WriteAsync(http, CometResponses.JsonContentType, "{\"ok\":true}"u8.ToArray());
                return;
            case "count":
            {
                if (context.GetChannelOptions(channel!) is not { AllowCount: true })
                {
                    await CometResponses.ErrorAsync(http, 403, "forbidden", Text($"Counts of '{channel}' are not public.", $"通道 '{channel}' 的人数不公开。"));
                    return;
                }
                var (connections, users) = Engine.GetChannelCounts(channel!);
                await WriteAsync(http, CometResponses.JsonContentType, System.Text.Encoding.UTF8.GetBytes(JsonConvert.SerializeObject(
                    new { channel, connections, users })));
                return;
            }
            default: // pub
            {
                var eventName = p.GetValueOrDefault("event");
                if (eventName is not null && !CometContext.IsValidChannelName(eventName))
                {
                    await CometResponses.ErrorAsync(http, 400, "bad-request", Text("'event' must be a name: 1 to 64 characters from A-Z a-z 0-9 _ . -", "event 参数格式错误。"));
                    return;
                }
                Newtonsoft.Json.Linq.JToken? data = null;
                if (p.TryGetValue("data", out var dataText))
                {
                    try
                    {
                        data = Newtonsoft.Json.Linq.JToken.Parse(dataText);
                    }
                    catch (JsonException e)
                    {
                        await CometResponses.ErrorAsync(http, 400, "bad-request", Text("'data' is not valid JSON: " + e.Message, "data 不是有效的 JSON：" + e.Message));
                        return;
                    }
                }
                var result = Engine.Publish(connection, channel!, eventName, data);
                if (result.Status != 200)
                {
                    await CometResponses.ErrorAsync(http, result.Status, result.Error!, result.Message!);
                    return;
                }
                await WriteAsync(http, CometResponses.JsonContentType, System.Text.Encoding.UTF8.GetBytes(JsonConvert.SerializeObject(
                    new { ok = true, seq = result.Seq, delivered = result.Delivered })));
                return;
            }
        }
    }

    // ------------------------------------------------------------------ shared

    /// <summary>
    /// The connection a revival or drop names, after checking that the request may use it.
    /// Null when the request was answered here (bad, unknown or not its owner).
    /// </summary>
    private async Task<CometConnection?> FindAsync(HttpContext http, Dictionary<string, string> p)
    {
        var cid = p.GetValueOrDefault(CometProtocol.FlagId);
        var secret = p.GetValueOrDefault(CometProtocol.FlagSecret);
        var v2Request = secret is not null || p.ContainsKey(CometProtocol.FlagAck) || p.GetValueOrDefault("v") == "2"
                        || WorkStyles.Parse(p.GetValueOrDefault(CometProtocol.FlagWorkStyle)) == WorkStyles.Sse;
        if (string.IsNullOrEmpty(cid))
        {
            await CometResponses.ErrorAsync(http, 400, "bad-request", Text("The parameter 'cid' is missing.", "缺少参数 cid。"));
            return null;
        }
        if (!CometEngine.IsValidId(cid))
        {
            await CometResponses.ErrorAsync(http, 400, "bad-request", Text("The parameter 'cid' is not a connection id (22 characters of A-Z a-z 0-9 - _).", "cid 格式错误。"));
            return null;
        }
        var connection = Engine.GetConnection(cid);
        if (connection is null)
        {
            await UnknownAsync(http, p, v2Request);
            return null;
        }
        if (connection.Dialect == CometDialect.V2)
        {
            if (secret is null || !FixedTimeEquals(secret, connection.Secret))
            {
                await CometResponses.ErrorAsync(http, 403, "forbidden", Text("The connection secret 'cs' is missing or wrong for this cid.", "连接密钥 cs 缺失或错误。"));
                return null;
            }
        }
        else if (HttpCometRequest.ClientAddress(http) != connection.ClientIp)
        {
            await CometResponses.ErrorAsync(http, 403, "forbidden", Text("This connection belongs to another client.", "该连接属于其他客户端。"));
            return null;
        }
        return connection;
    }

    private async Task UnknownAsync(HttpContext http, Dictionary<string, string> p, bool v2)
    {
        CometResponses.NoCache(http.Response);
        if (!v2)
        {
            // What Comet4J answered: an empty body. Its client retries three times, then stops.
            await WriteAsync(http, CometResponses.LegacyContentType, []);
            return;
        }
        var isSse = WorkStyles.Parse(p.GetValueOrDefault(CometProtocol.FlagWorkStyle)) == WorkStyles.Sse;
        if (Engine.KickedReason(p.GetValueOrDefault(CometProtocol.FlagId) ?? "") is { } kicked)
        {
            if (isSse)
            {
                http.Response.StatusCode = StatusCodes.Status204NoContent; // EventSource stops reconnecting on 204
                return;
            }
            await CometResponses.ErrorAsync(http, 410, "kicked", kicked, 0, new Dictionary<string, object?>
            {
                ["channel"] = CometProtocol.SystemChannel,
                ["data"] = new Dictionary<string, object?> { ["type"] = "kicked", ["reason"] = kicked },
            });
            return;
        }
        var message = Text("The server does not hold this connection (it expired, was dropped, or the server restarted): connect again.",
            "服务器没有该连接（已过期、已断开或服务器已重启），请重新连接。");
        if (WorkStyles.Parse(p.GetValueOrDefault(CometProtocol.FlagWorkStyle)) == WorkStyles.Sse && p.GetValueOrDefault(CometProtocol.FlagAction) == CometProtocol.CmdRevival)
        {
            http.Response.StatusCode = 200;
            var body = CometResponses.SseSystem("reconnect", new Dictionary<string, object?> { ["reason"] = message });
            await WriteAsync(http, CometResponses.SseContentType, body);
            return;
        }
        await CometResponses.ErrorAsync(http, 404, "unknown-cid", message, 0, new Dictionary<string, object?>
        {
            ["channel"] = CometProtocol.SystemChannel,
            ["data"] = new Dictionary<string, object?> { ["type"] = "reconnect" },
        });
    }

    private static bool FixedTimeEquals(string a, string b)
    {
        var x = Encoding.UTF8.GetBytes(a);
        var y = Encoding.UTF8.GetBytes(b);
        return x.Length == y.Length && CryptographicOperations.FixedTimeEquals(x, y);
    }

    private static async Task WriteAsync(HttpContext http, string contentType, byte[] body)
    {
        var response = http.Response;
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        if (body.Length > 0) await response.Body.WriteAsync(body, http.RequestAborted);
    }

    private string Text(string en, string zh) => Options.Language == "zh" ? zh : en;

    /// <summary>Echoes client input safely: at most 40 printable ASCII characters.</summary>
    private static string Sanitize(string? value)
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
}
