using Comet4Net.Web.Internal.Commands;
using Comet4Net.Web.Internal.Transports;
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
        var writers = new FrameWriters(context.Engine);
        ChannelCommand[] channelCommands =
        [
            new SubscribeCommand(context, lookup), new UnsubscribeCommand(context, lookup),
            new PublishCommand(context, lookup), new CountCommand(context, lookup),
        ];
        // A socket carries the channel commands and acks, run by the same classes as their HTTP forms.
        var refresh = new RefreshCommand(context, lookup);
        var socketCommands = new Dictionary<string, IConnectionCommand>(StringComparer.Ordinal) { ["ack"] = new AckCommand(), [refresh.Name] = refresh };
        foreach (var command in channelCommands) socketCommands[command.Name] = command;
        ICometCommand[] commands =
        [
            new ConnectCommand(context, writers), new RevivalCommand(context, lookup, writers, socketCommands), new DropCommand(context, lookup), refresh,
            .. channelCommands,
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

    // A held answer's delivery loop handles its own failures, so it goes back to ASP.NET Core as it
    // is: no state machine of the dispatcher's stays with each held request.
    private Task RunAsync(HttpContext http, bool jsonp)
    {
        Task task;
        try
        {
            task = DispatchAsync(http, jsonp);
        }
        catch (Exception e)
        {
            return ObserveAsync(http, Task.FromException(e));
        }
        var held = DeliveryLoop.IsHeldLoop(task); // also forgets the loop this thread started
        return task.IsCompletedSuccessfully || held ? task : ObserveAsync(http, task);
    }

    private async Task ObserveAsync(HttpContext http, Task task)
    {
        try
        {
            await task;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && http.RequestAborted.IsCancellationRequested)
        {
            // The client went away mid-request.
        }
        catch (BadHttpRequestException e)
        {
            await CometResponses.ErrorAsync(http, Options, CometErrors.BadHttpRequest(e.StatusCode, e.Message));
        }
        catch (Exception e)
        {
            LogRequestFailed(_logger, e);
            _context.Engine.Host.ReportError(null, e);
            await CometResponses.ErrorAsync(http, Options, CometErrors.InternalError);
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
            return CometResponses.ErrorAsync(http, Options, CometErrors.MethodNotAllowed(request.Method));
        }
        if ((request.QueryString.Value?.Length ?? 0) > Options.MaxQueryLength)
            return CometResponses.ErrorAsync(http, Options, CometErrors.QueryTooLong(Options.MaxQueryLength));
        var parameters = QueryParameters(http);
        return isPost && request.HasFormContentType ? DispatchFormAsync(http, parameters, jsonp) : Execute(http, parameters, jsonp);
    }

    private async Task DispatchFormAsync(HttpContext http, Dictionary<string, string> parameters, bool jsonp)
    {
        if (await ReadFormAsync(http, parameters)) await Execute(http, parameters, jsonp);
    }

    private Task Execute(HttpContext http, Dictionary<string, string> parameters, bool jsonp)
    {
        var parsed = CommandRequest.Parse(http, Options, parameters, jsonp);
        if (DrainService.Refuses(_context.Engine, parsed)) return parsed.Reply.ErrorAsync(CometErrors.Draining, TimeSpan.FromSeconds(1), DrainService.Spread(Options));
        if (parameters.TryGetValue(CometProtocol.DeltaParameter, out var delta) && delta != CometProtocol.DeltaFossil) return parsed.Reply.ErrorAsync(CometErrors.BadDelta(delta));
        if (parsed.Command is { } name && _commands.TryGetValue(name, out var command)) return command.ExecuteAsync(parsed);
        return parsed.Reply.ErrorAsync(string.IsNullOrEmpty(parsed.Command) ? CometErrors.MissingCommand : CometErrors.UnknownCommand(parsed.Command));
    }

    /// <summary>The query's parameters (the first value of a name given twice).</summary>
    private static Dictionary<string, string> QueryParameters(HttpContext http)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in new QueryStringEnumerable(http.Request.QueryString.Value))
        {
            var name = pair.DecodeName();
            if (name.Length > 0) parameters.TryAdd(KnownStrings.Of(name.Span), KnownStrings.Of(pair.DecodeValue().Span));
        }
        return parameters;
    }

    /// <summary>Adds a form POST's fields. False if the body was bad (already answered).</summary>
    private async Task<bool> ReadFormAsync(HttpContext http, Dictionary<string, string> parameters)
    {
        if (http.Request.ContentLength > Options.MaxQueryLength)
        {
            await CometResponses.ErrorAsync(http, Options, CometErrors.BodyTooLarge(Options.MaxQueryLength));
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
            await CometResponses.ErrorAsync(http, Options, CometErrors.BadForm(e.Message));
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
