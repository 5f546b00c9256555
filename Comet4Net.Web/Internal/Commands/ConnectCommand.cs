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

    // Not async on the way to an SSE answer: the event stream's delivery loop goes back to the
    // dispatcher as it is, so a held SSE answer keeps no state machine of this command's (nor the
    // parsed request). A connect that waits on the backplane takes the async path.
    public Task ExecuteAsync(CommandRequest r)
    {
        var http = r.Http!;
        CometWorkStyle? requested = null;
        if (r.WorkStyleText is not null)
        {
            if (r.WorkStyleIsBad) return r.Reply.ErrorAsync(CometErrors.BadConnectStyle(r.WorkStyleText));
            if (r.WorkStyle != CometWorkStyle.Auto) requested = r.WorkStyle;
        }
        var dialect = r.ClientIsV2() || requested == CometWorkStyle.Sse ? CometDialect.V2 : CometDialect.Legacy;
        if (dialect == CometDialect.Legacy && !Options.AllowLegacyClients) return r.Reply.ErrorAsync(CometErrors.LegacyNotAllowed);
        var style = WorkStyleChooser.Choose(Options, http, dialect, requested, r.Get("wsok") == "1");
        long? resumeAfter = null;
        if (style == CometWorkStyle.Sse)
        {
            if (r.AckIsBad) return r.Reply.ErrorAsync(CometErrors.BadAck);
            if (r.Ack > 0) resumeAfter = r.Ack;
        }

        List<string>? subscribe = null;
        if (dialect == CometDialect.V2 && r.Get("sub") is { } subText)
        {
            subscribe = ParseChannels(subText);
            if (subscribe is null) return r.Reply.ErrorAsync(CometErrors.BadSub);
        }
        // The snapshot lets go of the HttpContext when the conn request is answered: at once for a
        // short answer, when its delivery loop ends for an SSE one (DeliveryLoop).
        var snapshot = new HttpCometRequest(http, r.Parameters);
        try
        {
            var cv = r.ClientVersion;
            var connecting = Engine.Host.ConnectAsync(snapshot, dialect, style, cv.Length > 32 ? cv[..32] : cv, resumeAfter, subscribe);
            return connecting.IsCompletedSuccessfully
                ? Answer(r, snapshot, connecting.Result, dialect, style)
                : AnswerLaterAsync(r, snapshot, connecting, dialect, style);
        }
        catch
        {
            snapshot.Release();
            throw;
        }
    }

    private async Task AnswerLaterAsync(CommandRequest r, HttpCometRequest snapshot, ValueTask<ConnectResult> connecting, CometDialect dialect, CometWorkStyle style)
    {
        try
        {
            await Answer(r, snapshot, await connecting, dialect, style);
        }
        catch
        {
            snapshot.Release();
            throw;
        }
    }

    // Its callers let go of the snapshot if it throws.
    private Task Answer(CommandRequest r, HttpCometRequest snapshot, ConnectResult result, CometDialect dialect, CometWorkStyle style)
    {
        if (result.Connection is not { } connection)
        {
            snapshot.Release();
            return r.Reply.OutcomeAsync(result.Outcome, result.Message!, result.ListenerStatus, result.RetryAfter);
        }
        var http = r.Http!;
        CometResponses.NoCache(http.Response);
        if (dialect == CometDialect.V2 && style == CometWorkStyle.Sse)
        {
            var frames = writers.Sse(r.SseNamedEvents);
            var preamble = frames.Preamble(ConnectFields(connection, result.RefusedChannels));
            return DeliveryLoop.RunAsync(Engine, connection, http, CometHost.StartOf(connection), new HeldAnswerSink(http, frames, preamble));
        }
        snapshot.Release();
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
            return CometResponses.WriteAsync(http, CometResponses.LegacyContentType, frame);
        }
        return CometResponses.WriteAsync(http, CometResponses.V2ContentType, CometFrames.V2System("conn", ConnectFields(connection, result.RefusedChannels), Engine.Host.NowMs));
    }

    // The conn frame's fields, one dictionary per thread: they are written into the frame at once.
    [ThreadStatic] private static Dictionary<string, object?>? t_fields;

    /// <summary>The v2 <c>conn</c> frame's fields (a per-thread dictionary: valid until the next call on this thread).</summary>
    private IDictionary<string, object?> ConnectFields(CometConnection connection, IReadOnlyList<string>? refused)
    {
        var fields = t_fields ??= new Dictionary<string, object?>(16);
        fields.Clear();
        fields["cId"] = connection.Id;
        fields["cs"] = CometHost.SecretOf(connection);
        fields["channels"] = context.Channels;
        fields["ws"] = connection.WorkStyle;
        fields["timeout"] = Options.Timeout;
        fields["heartbeat"] = Options.Heartbeat;
        fields["seq"] = CometHost.StartOf(connection);
        fields["epoch"] = Engine.Backplane.Epoch;
        fields["resume"] = Options.CacheExpires;
        fields["v"] = 2;
        if (refused is not null) fields["refused"] = refused; // named in sub= but refused by a subscribe listener
        TokenRefresh.AddExpiry(fields, Engine, connection); // a connection made with a signed token: when it expires
        return fields;
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
