namespace Comet4Net.Web.Internal;

/// <summary>
/// One error answer: its HTTP status, its code (the <c>error</c> field) and its text in English and
/// Chinese (<see cref="CometOptions.Language"/> picks one).
/// </summary>
internal sealed record CometError(int Status, string Code, string English, string Chinese)
{
    internal string Text(CometOptions options) => Hosting.CometHost.Text(options, English, Chinese);
}

/// <summary>
/// Every error a <c>/conn</c> request or a socket command can get, with its code and texts: the one
/// place they are written (docs/protocol.md, "Errors", is the list for clients).
/// </summary>
internal static class CometErrors
{
    private const string Commands = "conn, revival, drop, sub, unsub, pub, count or refresh";
    private const string CommandsZh = "conn、revival、drop、sub、unsub、pub、count 或 refresh";
    private const string NameRule = "1 to 64 characters from A-Z a-z 0-9 _ . -";

    private static CometError Bad(string english, string chinese) => new(400, "bad-request", english, chinese);

    // The request itself
    internal static CometError MethodNotAllowed(string method) => new(405, "method-not-allowed",
        $"{CometResponses.Sanitize(method)} is not allowed on this endpoint: use GET or POST.", "仅支持 GET 或 POST。");
    internal static CometError QueryTooLong(int max) => new(414, "query-too-long",
        $"The query string is longer than {max} characters.", $"查询字符串超过 {max} 个字符。");
    internal static CometError BodyTooLarge(int max) => new(413, "body-too-large",
        $"The form body is longer than {max} bytes.", "请求体过大。");
    internal static CometError BadHttpRequest(int status, string detail) => new(status, "bad-request", detail, detail); // Kestrel's own text
    internal static CometError BadForm(string detail) => Bad("The form body could not be read: " + detail, "无法读取表单：" + detail);
    internal static readonly CometError InternalError = new(500, "internal-error",
        "The server failed to handle the request.", "服务器处理请求失败。");
    internal static readonly CometError MissingCommand = Bad(
        $"The parameter 'cmd' is missing: expected {Commands}.", $"缺少参数 cmd（应为 {CommandsZh}）。");
    internal static CometError UnknownCommand(string cmd) => Bad(
        $"Unknown cmd '{CometResponses.Sanitize(cmd)}': expected {Commands}.", $"未知的 cmd '{CometResponses.Sanitize(cmd)}'（应为 {CommandsZh}）。");

    // Parameters
    internal static readonly CometError MissingCid = Bad("The parameter 'cid' is missing.", "缺少参数 cid。");
    internal static readonly CometError BadCid = Bad("The parameter 'cid' is not a connection id (22 characters of A-Z a-z 0-9 - _).", "cid 格式错误。");
    internal static readonly CometError BadAck = Bad("'ack' (or Last-Event-ID) must be a whole number, 0 or more.", "ack（或 Last-Event-ID）必须是非负整数。");
    internal static CometError BadConnectStyle(string ws) => Bad(
        $"Unknown ws '{CometResponses.Sanitize(ws)}': expected stream, lpool, sse, websocket or auto.", $"未知的 ws '{CometResponses.Sanitize(ws)}'。");
    internal static CometError BadRevivalStyle(string ws) => Bad(
        $"Unknown ws '{CometResponses.Sanitize(ws)}': expected stream, lpool, sse or websocket.", $"未知的 ws '{CometResponses.Sanitize(ws)}'。");
    internal static CometError BadDelta(string delta) => Bad(
        $"Unknown delta '{CometResponses.Sanitize(delta)}': the one delta format is fossil.", $"未知的 delta '{CometResponses.Sanitize(delta)}'（仅支持 fossil）。");
    internal static readonly CometError BadSub = Bad(
        "'sub' must be channel names (A-Z a-z 0-9 _ . -, at most 64 characters) separated by commas.", "sub 参数格式错误。");
    internal static readonly CometError ChannelName = Bad($"'channel' must be a channel name: {NameRule}", "channel 参数格式错误。");
    internal static readonly CometError EventName = Bad($"'event' must be a name: {NameRule}", "event 参数格式错误。");
    internal static CometError BadData(string detail) => Bad("'data' is not valid JSON: " + detail, "data 不是有效的 JSON：" + detail);
    internal static readonly CometError BadIdempotencyKey = Bad(
        $"'idem' (the publish's idempotency key) must be 1 to {Delivery.IdempotencyKeys.MaxLength} characters from A-Z a-z 0-9 - _ . :",
        $"idem（发布的幂等键）必须是 1 到 {Delivery.IdempotencyKeys.MaxLength} 个字符，取自 A-Z a-z 0-9 - _ . :。");
    internal static readonly CometError BadHistory = Bad("'history' must be a number from 0 to 1000.", "history 必须是 0 到 1000 的数字。");
    internal static CometError V2Only(string cmd) => Bad($"cmd={cmd} is for v2 clients.", $"cmd={cmd} 仅用于 v2 客户端。");
    internal static readonly CometError WebSocketNeedsUpgrade = Bad(
        "ws=websocket is a WebSocket upgrade of this URL (new WebSocket('ws://…/conn?cmd=revival&…')); plain HTTP requests use stream, lpool or sse.",
        "ws=websocket 需要 WebSocket 升级请求。");

    // Who may do what
    internal static readonly CometError LegacyNotAllowed = new(403, "forbidden",
        "Legacy clients (comet4j 0.x) are not allowed here: they cannot prove they own their connection. The application can allow them with Comet:AllowLegacyClients=true.",
        "此服务器不接受旧版客户端（comet4j 0.x）；应用可设置 Comet:AllowLegacyClients=true 允许。");
    internal static readonly CometError WrongSecret = new(403, "forbidden", "The connection secret 'cs' is missing or wrong for this cid.", "连接密钥 cs 缺失或错误。");
    internal static readonly CometError OtherClient = new(403, "forbidden", "This connection belongs to another client.", "该连接属于其他客户端。");
    internal static CometError OriginRefused(string origin) => new(403, "forbidden",
        $"Pages from {CometResponses.Sanitize(origin)} may not open a WebSocket here (Comet:AllowedOrigins).", "不允许该来源打开 WebSocket。");
    internal static CometError SubscriptionRefused(string channel) => new(403, "refused",
        $"The application refused the subscription to '{channel}'.", $"应用拒绝订阅 '{channel}'。");
    internal static CometError PolicyRefused(string channel) => new(403, "refused",
        $"The connection's user is not authorized for '{channel}' (the channel's policy).", $"当前用户无权使用通道 '{channel}'（通道的授权策略）。");
    internal static CometError CountsNotPublic(string channel) => new(403, "forbidden",
        $"Counts of '{channel}' are not public.", $"通道 '{channel}' 的人数不公开。");
    internal static readonly CometError Draining = new(503, "draining",
        "This server is shutting down: connect again now, another server will answer.", "该服务器正在关闭：请立即重新连接，将由另一台服务器应答。");
    internal static readonly CometError DropVetoed = new(409, "drop-vetoed", "The application kept the connection open.", "应用拒绝断开该连接。");
    internal static readonly CometError UnknownCid = new(404, "unknown-cid",
        "The server does not hold this connection (it expired, was dropped, or the server restarted): connect again.",
        "服务器没有该连接（已过期、已断开或服务器已重启），请重新连接。");

    // Token refresh (cmd=refresh; TokenRefresh)
    internal static readonly CometError TokenExpired = new(401, "token-expired",
        "The connection's token has expired: send cmd=refresh with a new token, then revive from your position.", "连接的令牌已过期：请用新令牌发送 cmd=refresh，然后从原位置恢复。");
    internal static readonly CometError RefreshNoTokens = Bad(
        "This server does not use signed tokens (Comet:TokenKey is not set): there is nothing to refresh.", "此服务器未使用签名令牌（未设置 Comet:TokenKey），无需刷新。");
    internal static readonly CometError RefreshMissingToken = Bad("The parameter 'token' is missing: cmd=refresh sends the new token.", "缺少参数 token（cmd=refresh 需要新令牌）。");

    // JSON-P
    internal static CometError JsonpGetOnly(string method) => Bad(
        $"JSON-P (the '{Jsonp.Parameter}' parameter) is GET only; {CometResponses.Sanitize(method)} requests use plain JSON without it.", "JSON-P（callback 参数）只能用 GET。");
    internal static readonly CometError JsonpOff = Bad(
        "JSON-P is off on this server: the application can turn it on with Comet:AllowJsonp=true (pages that can use CORS or a same-origin request should).",
        "此服务器未开启 JSON-P；应用可设置 Comet:AllowJsonp=true 开启。");
    internal static readonly CometError JsonpRepeated = Bad($"Give the '{Jsonp.Parameter}' parameter once.", "callback 参数只能出现一次。");
    internal static readonly CometError JsonpBadName = Bad(
        $"'{Jsonp.Parameter}' must be a JavaScript name or dotted path (a letter, _ or $, then letters, digits, _ or $; names separated by dots), at most {CometOptions.MaxJsonpCallbackLength} characters.",
        $"callback 必须是 JavaScript 名称或以点分隔的路径，最多 {CometOptions.MaxJsonpCallbackLength} 个字符。");
    internal static CometError JsonpPrefix(string prefix) => Bad(
        $"'{Jsonp.Parameter}' must start with '{prefix}' on this server (Comet:JsonpCallbackPrefix).", $"callback 必须以 '{prefix}' 开头。");
    internal static readonly CometError JsonpNoPage = new(403, "forbidden",
        "This server takes JSON-P only from the pages of Comet:AllowedOrigins, and this request names no page (no Referer or Origin header).",
        "此服务器只接受 Comet:AllowedOrigins 中页面的 JSON-P 请求，而该请求没有 Referer 或 Origin。");
    internal static CometError JsonpPageRefused(string from) => new(403, "forbidden",
        $"Pages from {CometResponses.Sanitize(from)} may not use JSON-P here (Comet:AllowedOrigins).", "不允许该来源使用 JSON-P。");

    // On a socket: these close it (status 1007 or 1009) with the English text as the reason.
    internal static readonly CometError SocketBadMessage = Bad(
        "Expected a text message {\"cmd\":\"ack\",\"seq\":N} or a channel command.", "应为文本消息 {\"cmd\":\"ack\",\"seq\":N} 或通道命令。");
    internal static readonly CometError SocketUnknownCommand = Bad("Unknown cmd: expected ack, sub, unsub, pub, count or refresh.", "未知的 cmd（应为 ack、sub、unsub、pub、count 或 refresh）。");
    internal static readonly CometError BadSeq = Bad("'seq' must be a whole number, 0 or more.", "seq 必须是非负整数。");
    internal static CometError SocketTooBig(int limit) => new(400, "too-large", $"A message is longer than {limit} bytes.", $"消息超过 {limit} 字节。");

    /// <summary>
    /// The answer to an engine outcome other than Ok: its status and code, with the engine's message
    /// (already in the configured language) or a listener's status.
    /// </summary>
    internal static CometError ForOutcome(CometOutcome outcome, string message, int listenerStatus = 0)
    {
        var (status, code) = outcome switch
        {
            CometOutcome.Refused => (listenerStatus != 0 ? listenerStatus : 403, "refused"),
            CometOutcome.TooManyConnections or CometOutcome.TooManyFromClient => (429, "too-many-connections"),
            CometOutcome.InvalidToken => (401, "invalid-token"),
            CometOutcome.UnknownSession => (404, "unknown-cid"),
            CometOutcome.NotOwner or CometOutcome.NotAllowed => (403, "forbidden"),
            CometOutcome.Kicked => (410, "kicked"),
            CometOutcome.TooLarge => (413, "too-large"),
            CometOutcome.Vetoed => (409, "drop-vetoed"),
            CometOutcome.Unavailable => (503, "unavailable"),
            _ => (500, "internal-error"),
        };
        return new CometError(status, code, message, message);
    }
}
