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
        var http = r.Http;
        if (string.IsNullOrEmpty(r.ConnectionId))
        {
            await CometResponses.ErrorAsync(http, 400, "bad-request", Options.Text("The parameter 'cid' is missing.", "缺少参数 cid。"));
            return null;
        }
        if (!Connections.ConnectionIds.IsValid(r.ConnectionId))
        {
            await CometResponses.ErrorAsync(http, 400, "bad-request", Options.Text("The parameter 'cid' is not a connection id (22 characters of A-Z a-z 0-9 - _).", "cid 格式错误。"));
            return null;
        }
        var (connection, outcome) = context.Engine.Find(r.ConnectionId, r.Secret, HttpCometRequest.ClientAddress(http));
        switch (outcome)
        {
            case CometOutcome.Ok:
                return connection;
            case CometOutcome.UnknownSession when r.Secret is not null: // a drop of a session another node holds takes it over first (an away one was forgotten already)
                return await ResumeAsync(r);
            case CometOutcome.NotOwner:
                await CometResponses.OutcomeAsync(http, outcome, r.Secret is not null || r.AsksV2
                    ? Options.Text("The connection secret 'cs' is missing or wrong for this cid.", "连接密钥 cs 缺失或错误。")
                    : Options.Text("This connection belongs to another client.", "该连接属于其他客户端。"));
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
        var snapshot = new HttpCometRequest(r.Http, r.Parameters);
        try
        {
            var result = await context.Engine.ResumeAsync(r.ConnectionId!, r.Secret, snapshot, r.WorkStyleIsBad ? null : r.WorkStyle, r.AckIsBad ? 0 : r.Ack);
            switch (result.Outcome)
            {
                case CometOutcome.Ok:
                    return result.Connection;
                case CometOutcome.UnknownSession:
                    await UnknownAsync(r);
                    return null;
                case CometOutcome.NotOwner:
                    await CometResponses.OutcomeAsync(r.Http, result.Outcome, Options.Text("The connection secret 'cs' is missing or wrong for this cid.", "连接密钥 cs 缺失或错误。"));
                    return null;
                default:
                    await CometResponses.OutcomeAsync(r.Http, result.Outcome, result.Message!, result.ListenerStatus, result.RetryAfter);
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
        var http = r.Http;
        CometResponses.NoCache(http.Response);
        if (!r.AsksV2)
        {
            // What Comet4J answered: an empty body. Its client retries three times, then stops.
            await CometResponses.WriteAsync(http, CometResponses.LegacyContentType, []);
            return;
        }
        var isSse = r.WorkStyle == CometWorkStyle.Sse;
        if (context.Engine.KickedReason(r.ConnectionId!) is { } kicked)
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
        var message = Options.Text("The server does not hold this connection (it expired, was dropped, or the server restarted): connect again.",
            "服务器没有该连接（已过期、已断开或服务器已重启），请重新连接。");
        if (isSse && r.Command == CometProtocol.CmdRevival)
        {
            http.Response.StatusCode = 200;
            var fields = new Dictionary<string, object?> { ["reason"] = message };
            var body = r.SseNamedEvents ? CometResponses.SseSystem("reconnect", fields) : CometResponses.SseUnnamedSystem("reconnect", fields);
            await CometResponses.WriteAsync(http, CometResponses.SseContentType, body);
            return;
        }
        await CometResponses.ErrorAsync(http, 404, "unknown-cid", message, 0, new Dictionary<string, object?>
        {
            ["channel"] = CometProtocol.SystemChannel,
            ["data"] = new Dictionary<string, object?> { ["type"] = "reconnect" },
        });
    }
}
