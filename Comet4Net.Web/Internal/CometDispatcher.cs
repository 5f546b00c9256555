using Comet4Net.Web.Internal.Commands;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace Comet4Net.Web.Internal;

/// <summary>
/// The <c>/conn</c> endpoint: checks the method and sizes, reads the parameters (query, and a form
/// body for POST), parses them once and hands the request to its command. Every bad input ends
/// with a 4xx and a JSON body; nothing a client sends reaches a 500.
/// </summary>
internal sealed partial class CometDispatcher
{
    private readonly CometContext _context;
    private readonly ILogger<CometDispatcher> _logger;
    private readonly Dictionary<string, ICometCommand> _commands = new(StringComparer.Ordinal);

    public CometDispatcher(CometContext context, ILogger<CometDispatcher> logger)
    {
        _context = context;
        _logger = logger;
        var lookup = new ConnectionLookup(context);
        ICometCommand[] commands =
        [
            new ConnectCommand(context), new RevivalCommand(context, lookup), new DropCommand(context, lookup),
            new SubscribeCommand(context, lookup), new UnsubscribeCommand(context, lookup),
            new PublishCommand(context, lookup), new CountCommand(context, lookup),
        ];
        foreach (var command in commands) _commands[command.Name] = command;
    }

    private CometOptions Options => _context.Options;

    internal Task HandleAsync(HttpContext http) =>
        HasParameter(http.Request.QueryString.Value, Jsonp.Parameter)
            ? Jsonp.HandleAsync(http, Options, h => RunAsync(h, jsonp: true))
            : RunAsync(http, jsonp: false);

    // The query is read here, not through HttpRequest.Query: that parses it into a collection the
    // request keeps for its whole life, which a held request would carry for minutes.
    private static bool HasParameter(string? query, string name)
    {
        foreach (var pair in new QueryStringEnumerable(query))
        {
            if (pair.DecodeName().Span.SequenceEqual(name)) return true;
        }
        return false;
    }

    private async Task RunAsync(HttpContext http, bool jsonp)
    {
        try
        {
            await DispatchAsync(http, jsonp);
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
            LogRequestFailed(_logger, e);
            _context.Engine.ReportError(null, e, null);
            await CometResponses.ErrorAsync(http, 500, "internal-error", Options.Text("The server failed to handle the request.", "服务器处理请求失败。"));
        }
    }

    // Not async on the way to a command: a held answer keeps no dispatcher state machine and no
    // parameters (a form POST, read asynchronously, is the exception; it is never a held answer's).
    private Task DispatchAsync(HttpContext http, bool jsonp)
    {
        var request = http.Request;
        var isPost = HttpMethods.IsPost(request.Method);
        if (!HttpMethods.IsGet(request.Method) && !isPost && !HttpMethods.IsHead(request.Method))
        {
            http.Response.Headers.Allow = "GET, POST";
            return CometResponses.ErrorAsync(http, 405, "method-not-allowed", Options.Text($"{CometResponses.Sanitize(request.Method)} is not allowed on this endpoint: use GET or POST.", "仅支持 GET 或 POST。"));
        }
        if ((request.QueryString.Value?.Length ?? 0) > Options.MaxQueryLength)
            return CometResponses.ErrorAsync(http, 414, "query-too-long", Options.Text($"The query string is longer than {Options.MaxQueryLength} characters.", $"查询字符串超过 {Options.MaxQueryLength} 个字符。"));
        var parameters = QueryParameters(http);
        return isPost && request.HasFormContentType ? DispatchFormAsync(http, parameters, jsonp) : Execute(http, parameters, jsonp);
    }

    private async Task DispatchFormAsync(HttpContext http, Dictionary<string, string> parameters, bool jsonp)
    {
        if (await ReadFormAsync(http, parameters)) await Execute(http, parameters, jsonp);
    }

    private Task Execute(HttpContext http, Dictionary<string, string> parameters, bool jsonp)
    {
        var parsed = CommandRequest.Parse(http, parameters, jsonp);
        if (parsed.Command is { } name && _commands.TryGetValue(name, out var command)) return command.ExecuteAsync(parsed);
        var expected = "conn, revival, drop, sub, unsub, pub or count";
        return CometResponses.ErrorAsync(http, 400, "bad-request", string.IsNullOrEmpty(parsed.Command)
            ? Options.Text($"The parameter 'cmd' is missing: expected {expected}.", "缺少参数 cmd（应为 conn、revival 或 drop）。")
            : Options.Text($"Unknown cmd '{CometResponses.Sanitize(parsed.Command)}': expected {expected}.", $"未知的 cmd '{CometResponses.Sanitize(parsed.Command)}'（应为 conn、revival 或 drop）。"));
    }

    /// <summary>The query's parameters (the first value of a name given twice).</summary>
    private static Dictionary<string, string> QueryParameters(HttpContext http)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in new QueryStringEnumerable(http.Request.QueryString.Value))
        {
            var name = pair.DecodeName();
            if (name.Length > 0) parameters.TryAdd(name.ToString(), pair.DecodeValue().ToString());
        }
        return parameters;
    }

    /// <summary>Adds a form POST's fields. False if the body was bad (already answered).</summary>
    private async Task<bool> ReadFormAsync(HttpContext http, Dictionary<string, string> parameters)
    {
        if (http.Request.ContentLength > Options.MaxQueryLength)
        {
            await CometResponses.ErrorAsync(http, 413, "body-too-large", Options.Text($"The form body is longer than {Options.MaxQueryLength} bytes.", "请求体过大。"));
            return false;
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
            await CometResponses.ErrorAsync(http, 400, "bad-request", Options.Text("The form body could not be read: " + e.Message, "无法读取表单：" + e.Message));
            return false;
        }
        return true;
    }

    private static void Add(Dictionary<string, string> parameters, string key, StringValues value)
    {
        if (value.Count > 0) parameters.TryAdd(key, value[0] ?? "");
    }

    [LoggerMessage(EventId = 904, Level = LogLevel.Error, Message = "Comet request failed")]
    private static partial void LogRequestFailed(ILogger logger, Exception exception);
}
