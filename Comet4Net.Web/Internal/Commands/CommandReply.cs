using Microsoft.AspNetCore.Http;

namespace Comet4Net.Web.Internal;

/// <summary>
/// How a command answers, whatever carried it: an HTTP answer (<see cref="HttpReply"/>) or a reply
/// frame on a socket. A command answers once: an error of the catalogue, an object of fields, or
/// NDJSON frames.
/// </summary>
internal abstract class CommandReply(CometOptions options)
{
    protected CometOptions Options => options;

    /// <summary>An error (HTTP: its status and JSON body; socket: a reply with <c>error</c> and <c>message</c>).</summary>
    internal abstract Task ErrorAsync(CometError error, TimeSpan retryAfter = default, object? extra = null);

    /// <summary>The error for an engine outcome other than Ok, with the engine's message.</summary>
    internal Task OutcomeAsync(CometOutcome outcome, string message, int listenerStatus = 0, TimeSpan retryAfter = default) =>
        ErrorAsync(CometErrors.ForOutcome(outcome, message, listenerStatus), retryAfter);

    /// <summary>A JSON object (HTTP: the 200 body; socket: the reply's fields).</summary>
    internal abstract Task FieldsAsync(IDictionary<string, object?> fields);

    /// <summary>NDJSON frames (HTTP: the 200 body; socket: <c>"ok":true,"frames":…</c>).</summary>
    internal abstract Task FramesAsync(byte[] ndjson);
}

/// <summary>The answer of a <c>/conn</c> request.</summary>
internal sealed class HttpReply(HttpContext http, CometOptions options) : CommandReply(options)
{
    internal override Task ErrorAsync(CometError error, TimeSpan retryAfter = default, object? extra = null) =>
        CometResponses.ErrorAsync(http, Options, error, retryAfter, extra);

    internal override Task FieldsAsync(IDictionary<string, object?> fields)
    {
        CometResponses.NoCache(http.Response);
        return CometResponses.JsonAsync(http, fields);
    }

    internal override Task FramesAsync(byte[] ndjson)
    {
        CometResponses.NoCache(http.Response);
        return CometResponses.WriteAsync(http, CometResponses.V2ContentType, ndjson);
    }
}
