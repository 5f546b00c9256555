using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Comet4Net.Events;
using Microsoft.AspNetCore.Http;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Internal;

/// <summary>The admin API (in the spirit of iComet's admin port): JSON in and out, clear 4xx errors.</summary>
internal sealed class CometAdmin(CometContext context, CometAdmin.Settings settings)
{
    internal sealed record Settings(string? Key);

    private CometEngine Engine => context.Engine;

    internal async ValueTask<object?> CheckKeyAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        // Only added when there is a key; without one it refuses rather than let anyone in.
        var key = settings.Key ?? "";
        var headers = invocation.HttpContext.Request.Headers;
        var given = headers["X-Comet-Admin-Key"].ToString();
        if (given.Length == 0 && headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.Ordinal)) given = auth[7..];
        var a = Encoding.UTF8.GetBytes(given);
        var b = Encoding.UTF8.GetBytes(key);
        if (b.Length == 0 || a.Length != b.Length || !CryptographicOperations.FixedTimeEquals(a, b))
            return Error(401, "unauthorized", "The admin key is missing or wrong (X-Comet-Admin-Key).");
        return await next(invocation);
    }

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new { error = code, message }, statusCode: status);

    private static IResult Json(object value) =>
        Results.Text(JsonConvert.SerializeObject(value), "application/json; charset=utf-8");

    internal IResult Info()
    {
        var stats = Engine.GetStatistics();
        return Json(new
        {
            version = context.Version,
            connections = stats.Connections,
            dying = stats.DyingConnections,
            byWorkStyle = stats.ConnectionsByWorkStyle,
            users = Engine.UserCount,
            channels = context.Channels.Select(ChannelInfo).ToArray(),
            log = new { messages = stats.LogMessages, bytes = stats.LogBytes, lastSequence = stats.LastSequence },
            counters = new
            {
                connects = stats.Connects, drops = stats.Drops, expired = stats.Expired, messages = stats.MessagesSent,
                frames = stats.FramesWritten, bytes = stats.BytesWritten, gaps = stats.Gaps, limitHits = stats.LimitHits,
                pendingDropped = stats.PendingDropped, logTrimmed = stats.LogTrimmed,
            },
        });
    }

    private object ChannelInfo(string name)
    {
        var (connections, users) = Engine.GetChannelCounts(name);
        var options = context.GetChannelOptions(name);
        return new
        {
            name,
            registered = options is not null,
            connections,
            users,
            history = Engine.GetHistory(name).Count,
            presence = options?.Presence ?? false,
            allowPublish = options?.AllowPublish ?? false,
        };
    }

    /// <summary>One connection, wherever it is held (on Redis, from its session): user, channels, work style, node, away.</summary>
    internal IResult Connection(string cid)
    {
        Backplane.SessionState? session;
        try
        {
            session = Engine.GetSession(cid);
        }
        catch (Backplane.CometBackplaneUnavailableException e)
        {
            return Error(503, "unavailable", e.Message);
        }
        if (session is null) return Error(404, "unknown-cid", "No node holds this connection and no session of it is kept.");
        return Json(new
        {
            cid = session.Id,
            user = session.UserId,
            channels = session.Subscriptions?.Keys.ToArray(), // null: every channel
            workStyle = WorkStyles.Name(session.Style),
            node = session.Holder,
            thisNode = session.Holder == Engine.NodeId,
            away = session.Away,
        });
    }

    internal IResult Channel(string name) =>
        CometContext.IsValidChannelName(name) ? Json(ChannelInfo(name)) : Error(400, "bad-request", "Not a channel name.");

    private static async Task<JObject?> BodyAsync(HttpContext http)
    {
        if (http.Request.ContentLength > 1024 * 1024) return null;
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(http.RequestAborted);
        try { return JToken.Parse(text) as JObject; }
        catch (JsonException) { return null; }
    }

    /// <summary>Push to a channel (everyone), a user, or one connection: {"channel","event"?,"data","user"?,"cid"?}.</summary>
    internal async Task<IResult> PushAsync(HttpContext http)
    {
        var body = await BodyAsync(http);
        if (body is null) return Error(400, "bad-request", "The body must be a JSON object: {\"channel\":…,\"data\":…} with \"user\" or \"cid\" to target.");
        var channel = (string?)body["channel"];
        if (!CometContext.IsValidChannelName(channel)) return Error(400, "bad-request", "\"channel\" must be a channel name.");
        var eventName = (string?)body["event"];
        var data = body["data"];
        try
        {
            if ((string?)body["cid"] is { } cid)
            {
                // Any node's connection (on Redis), or one away within the resume window: it gets the message when it comes back.
                return Engine.SendTo(channel!, cid, data) ? Json(new { reached = 1 }) : Error(404, "unknown-cid", "No such connection.");
            }
            if ((string?)body["user"] is { } user) return Json(new { reached = Engine.SendToUser(user, channel!, data) });
            var seq = Engine.SendToAll(channel!, eventName, data);
            return Json(new { seq, reached = Engine.GetChannelCounts(channel!).Connections });
        }
        catch (ArgumentException e)
        {
            return Error(400, "bad-request", e.Message);
        }
    }

    /// <summary>Kick a connection or every connection of a user: {"cid"|"user","reason"?}.</summary>
    internal async Task<IResult> KickAsync(HttpContext http)
    {
        var body = await BodyAsync(http);
        if (body is null) return Error(400, "bad-request", "The body must be a JSON object: {\"cid\":…} or {\"user\":…}, with an optional \"reason\".");
        var reason = (string?)body["reason"];
        if ((string?)body["cid"] is { } cid)
        {
            // Wherever it is held: on Redis the node that holds it ends it.
            if (Engine.GetConnection(cid) is null && !Engine.ConnectionExists(cid)) return Error(404, "unknown-cid", "No such connection.");
            return Json(new { kicked = Engine.KickConnection(cid, reason) ? 1 : 0 });
        }
        if ((string?)body["user"] is { } user) return Json(new { kicked = Engine.Kick(user, reason) });
        return Error(400, "bad-request", "Say whom to kick: \"cid\" or \"user\".");
    }

    internal IResult Clear(string channel) =>
        CometContext.IsValidChannelName(channel) ? Json(new { cleared = Engine.ClearHistory(channel) }) : Error(400, "bad-request", "Not a channel name.");

    /// <summary>A stream of presence events (iComet's psub) as Server-Sent Events, until the client leaves.</summary>
    internal async Task PresenceAsync(HttpContext http)
    {
        var queue = System.Threading.Channels.Channel.CreateBounded<string>(new BoundedChannelOptions(10000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        void Push(string type, CometEvent e, object extra) =>
            queue.Writer.TryWrite($"event: {type}\ndata: {JsonConvert.SerializeObject(new { cId = e.Connection?.Id, user = e.Connection?.UserId, detail = extra })}\n\n");
        var listeners = new List<Action>
        {
            Remove(Engine.On<UserOnlineEvent>(e => Push("online", e, e.UserId))),
            Remove(Engine.On<UserOfflineEvent>(e => Push("offline", e, e.UserId))),
            Remove(Engine.On<ConnectEvent>(e => Push("connect", e, e.Connection!.WorkStyle))),
            Remove(Engine.On<DropEvent>(e => Push("drop", e, e.Reason.ToString()))),
            Remove(Engine.On<SubscribeEvent>(e => Push("subscribe", e, e.Channel))),
            Remove(Engine.On<UnsubscribeEvent>(e => Push("unsubscribe", e, e.Channel))),
        };
        try
        {
            http.Response.ContentType = "text/event-stream; charset=utf-8";
            http.Response.Headers.CacheControl = "no-cache";
            await http.Response.WriteAsync(": presence\n\n", http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
            await foreach (var line in queue.Reader.ReadAllAsync(http.RequestAborted))
            {
                await http.Response.WriteAsync(line, http.RequestAborted);
                await http.Response.Body.FlushAsync(http.RequestAborted);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }
        finally
        {
            foreach (var remove in listeners) remove();
        }
    }

    private Action Remove<TEvent>(Listeners.CometListener<TEvent> listener) where TEvent : CometEvent =>
        () => Engine.RemoveListener(listener);
}
