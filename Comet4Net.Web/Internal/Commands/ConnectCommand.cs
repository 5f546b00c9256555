using Comet4Net.Hosting;
using Comet4Net.Web.Internal.Transports;
using Microsoft.AspNetCore.Http;
using Newtonsoft.Json;

namespace Comet4Net.Web.Internal.Commands;

/// <summary>
/// <c>cmd=conn</c>: picks the dialect and work style, opens the connection and answers its
/// <c>conn</c> frame (for SSE, the frame opens the event stream that follows in the same answer).
/// </summary>
internal sealed class ConnectCommand(CometContext context, FrameWriters writers) : ICometCommand
{
    private CometEngine Engine => context.Engine;
    private CometOptions Options => context.Options;

    public string Name => CometProtocol.CmdConnect;

    public async Task ExecuteAsync(CommandRequest r)
    {
        var http = r.Http!;
        CometWorkStyle? requested = null;
        if (r.WorkStyleText is not null)
        {
            if (r.WorkStyleIsBad)
            {
                await r.Reply.ErrorAsync(CometErrors.BadConnectStyle(r.WorkStyleText));
                return;
            }
            if (r.WorkStyle != CometWorkStyle.Auto) requested = r.WorkStyle;
        }
        var dialect = r.ClientIsV2() || requested == CometWorkStyle.Sse ? CometDialect.V2 : CometDialect.Legacy;
        if (dialect == CometDialect.Legacy && !Options.AllowLegacyClients)
        {
            await r.Reply.ErrorAsync(CometErrors.LegacyNotAllowed);
            return;
        }
        var style = WorkStyleChooser.Choose(Options, http, dialect, requested, r.Get("wsok") == "1");
        long? resumeAfter = null;
        if (style == CometWorkStyle.Sse)
        {
            if (r.AckIsBad)
            {
                await r.Reply.ErrorAsync(CometErrors.BadAck);
                return;
            }
            if (r.Ack > 0) resumeAfter = r.Ack;
        }

        List<string>? subscribe = null;
        if (dialect == CometDialect.V2 && r.Get("sub") is { } subText)
        {
            subscribe = ParseChannels(subText);
            if (subscribe is null)
            {
                await r.Reply.ErrorAsync(CometErrors.BadSub);
                return;
            }
        }
        var snapshot = new HttpCometRequest(http, r.Parameters);
        try
        {
            var cv = r.ClientVersion;
            var result = await Engine.Host.ConnectAsync(snapshot, dialect, style, cv.Length > 32 ? cv[..32] : cv, resumeAfter, subscribe);
            if (result.Connection is not { } connection)
            {
                await r.Reply.OutcomeAsync(result.Outcome, result.Message!, result.ListenerStatus, result.RetryAfter);
                return;
            }
            var request = r;
            r = null!; // an SSE answer is held: the parsed request is not kept while it is (see AnswerAsync)
            await AnswerAsync(request, connection, dialect, style, result.RefusedChannels);
        }
        finally
        {
            snapshot.Release();
        }
    }

    private async Task AnswerAsync(CommandRequest r, CometConnection connection, CometDialect dialect, CometWorkStyle style, IReadOnlyList<string>? refused)
    {
        var http = r.Http!;
        CometResponses.NoCache(http.Response);
        if (dialect == CometDialect.Legacy)
        {
            var data = JsonConvert.SerializeObject(new Dictionary<string, object?>
            {
                ["cId"] = connection.Id,
                ["channels"] = context.Channels,
                ["ws"] = connection.WorkStyle,
                ["timeout"] = Options.Timeout,
            });
            var frame = CometFrames.LegacyFromJson(CometFrames.Json(null, CometProtocol.SystemChannel, data, Engine.Host.NowMs));
            await CometResponses.WriteAsync(http, CometResponses.LegacyContentType, frame);
            return;
        }

        var fields = new Dictionary<string, object?>(12)
        {
            ["cId"] = connection.Id,
            ["cs"] = CometHost.SecretOf(connection),
            ["channels"] = context.Channels,
            ["ws"] = connection.WorkStyle,
            ["timeout"] = Options.Timeout,
            ["heartbeat"] = Options.Heartbeat,
            ["seq"] = CometHost.StartOf(connection),
            ["epoch"] = Engine.Backplane.Epoch,
            ["resume"] = Options.CacheExpires,
            ["v"] = 2,
        };
        if (refused is not null) fields["refused"] = refused; // named in sub= but refused by a subscribe listener
        TokenRefresh.AddExpiry(fields, Engine, connection); // a connection made with a signed token: when it expires
        var connectData = CometResponses.SystemData("conn", fields);
        if (style == CometWorkStyle.Sse)
        {
            var frames = writers.Sse(r.SseNamedEvents);
            r = null!; // not kept while the answer is held
            await DeliveryLoop.RunAsync(Engine, connection, http, CometHost.StartOf(connection), new HeldAnswerSink(http, frames, frames.Preamble(connectData)));
            return;
        }
        await CometResponses.WriteAsync(http, CometResponses.V2ContentType, CometFrames.V2System(connectData, Engine.Host.NowMs));
    }

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
}
