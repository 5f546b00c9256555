using Comet4Net.Hosting;
using Microsoft.AspNetCore.Http;

namespace Comet4Net.Web.Internal.Commands;

/// <summary>
/// Finds the connection a command names and checks that the request may use it. Every refusal is
/// answered here: a malformed id (400), a wrong owner (403), a kicked connection (410), an unknown
/// one (404 for v2, an empty 200 for legacy clients, as Comet4J answered).
/// </summary>
internal sealed class ConnectionLookup(CometContext context)
{
    private CometOptions Options => context.Options;

    /// <summary>The connection, or null when the request was answered here.</summary>
    internal async Task<CometConnection?> FindAsync(CommandRequest r)
    {
        var http = r.Http!;
        if (string.IsNullOrEmpty(r.ConnectionId))
        {
            await r.Reply.ErrorAsync(CometErrors.MissingCid);
            return null;
        }
        if (!CometHost.IsValidId(r.ConnectionId))
        {
            await r.Reply.ErrorAsync(CometErrors.BadCid);
            return null;
        }
        var (connection, outcome) = context.Engine.Host.Find(r.ConnectionId, r.Secret, HttpCometRequest.ClientAddress(http));
        switch (outcome)
        {
            case CometOutcome.Ok:
                return connection;
            case CometOutcome.UnknownSession when r.Secret is not null: // a drop of a session another node holds takes it over first (an away one was forgotten already)
                return await ResumeAsync(r);
            case CometOutcome.NotOwner:
                await r.Reply.ErrorAsync(r.Secret is not null || r.AsksV2 ? CometErrors.WrongSecret : CometErrors.OtherClient);
                return null;
            default:
                await UnknownAsync(r);
                return null;
        }
    }

    /// <summary>
    /// The client comes back after its connection was dropped (away longer than ConnExpires) but
    /// within the resume window: its session is resumed, and it gets everything after its ack.
    /// </summary>
    private async Task<CometConnection?> ResumeAsync(CommandRequest r)
    {
        var snapshot = new HttpCometRequest(r.Http!, r.Parameters);
        try
        {
            var result = await context.Engine.Host.ResumeAsync(r.ConnectionId!, r.Secret, snapshot, r.WorkStyleIsBad ? null : r.WorkStyle, r.AckIsBad ? 0 : r.Ack);
            switch (result.Outcome)
            {
                case CometOutcome.Ok:
                    return result.Connection;
                case CometOutcome.UnknownSession:
                    await UnknownAsync(r);
                    return null;
                case CometOutcome.NotOwner:
                    await r.Reply.ErrorAsync(CometErrors.WrongSecret);
                    return null;
                default:
                    await r.Reply.OutcomeAsync(result.Outcome, result.Message!, result.ListenerStatus, result.RetryAfter);
                    return null;
            }
        }
        finally
        {
            snapshot.Release();
        }
    }

    private async Task UnknownAsync(CommandRequest r)
    {
        var http = r.Http!;
        CometResponses.NoCache(http.Response);
        if (!r.AsksV2)
        {
            // What Comet4J answered: an empty body. Its client retries three times, then stops.
            await CometResponses.WriteAsync(http, CometResponses.LegacyContentType, []);
            return;
        }
        var isSse = r.WorkStyle == CometWorkStyle.Sse;
        if (context.Engine.Host.KickedReason(r.ConnectionId!) is { } kicked)
        {
            if (isSse)
            {
                http.Response.StatusCode = StatusCodes.Status204NoContent; // EventSource stops reconnecting on 204
                return;
            }
            await r.Reply.ErrorAsync(CometErrors.ForOutcome(CometOutcome.Kicked, kicked), default, new Dictionary<string, object?>
            {
                ["channel"] = CometProtocol.SystemChannel,
                ["data"] = new Dictionary<string, object?> { ["type"] = "kicked", ["reason"] = kicked },
            });
            return;
        }
        var message = CometErrors.UnknownCid.Text(Options);
        if (isSse && r.Command == CometProtocol.CmdRevival)
        {
            http.Response.StatusCode = 200;
            var fields = new Dictionary<string, object?> { ["reason"] = message };
            var body = r.SseNamedEvents ? CometResponses.SseSystem("reconnect", fields) : CometResponses.SseUnnamedSystem("reconnect", fields);
            await CometResponses.WriteAsync(http, CometResponses.SseContentType, body);
            return;
        }
        await r.Reply.ErrorAsync(CometErrors.UnknownCid, default, new Dictionary<string, object?>
        {
            ["channel"] = CometProtocol.SystemChannel,
            ["data"] = new Dictionary<string, object?> { ["type"] = "reconnect" },
        });
    }
}
