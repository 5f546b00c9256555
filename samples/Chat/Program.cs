using Comet4Net;
using Comet4Net.Samples.Chat;

// The port of Comet4J's talker demo. Run: dotnet run --project samples/Chat [--urls http://127.0.0.1:5000]
// On a UNIX socket behind nginx (samples/nginx-unix.conf): --urls http://unix:/run/comet4net/chat.sock
ChatServer.Create(args).Run();

namespace Comet4Net.Samples.Chat
{
    /// <summary>Builds the chat application (tests build it too, on a port of their own).</summary>
    public static class ChatServer
    {
        public static WebApplication Create(string[] args, WebApplicationOptions? options = null, Action<WebApplicationBuilder>? configure = null)
        {
            var builder = WebApplication.CreateBuilder(options ?? new WebApplicationOptions { Args = args });
            configure?.Invoke(builder);

            builder.Services.AddSingleton<AppStore>();
            builder.Services.AddComet(
                options => { /* Comet settings come from appsettings.json ("Comet") and Comet__* variables. */ },
                (context, services) =>
                {
                    // What Comet4J's demo did in its ServletContextListener.
                    var store = services.GetRequiredService<AppStore>();
                    // History for newcomers, presence for the online list, client publishing for "typing…".
                    context.RegisterChannel(Talker.Channel, new ChannelOptions
                    {
                        HistoryCount = 20, Presence = true, AllowPublish = true, AllowCount = true,
                    });
                    context.Engine.AddBeforeConnectListener(new NameListener());
                    context.Engine.AddConnectListener(new JoinListener(store));
                    context.Engine.AddDropListener(new LeftListener(store));
                    context.Engine.AddBeforePublishListener(new TypingListener(store));
                });
            // Several nodes sharing Redis (README, "Scaling out"): set Comet__Redis=127.0.0.1:6379, nothing else changes.
            if (!string.IsNullOrEmpty(builder.Configuration["Comet:Redis"])) builder.Services.AddRedis();
            builder.Services.AddHostedService<HealthSender>();

            var app = builder.Build();
            UnixSockets.RemoveStale(app.Configuration, app.Logger);
            app.UseDefaultFiles();
            app.UseStaticFiles();
            app.MapComet("/conn");
            app.MapMethods("/talk.do", ["GET", "POST"], TalkAsync).DisableAntiforgery();
            return app;
        }

        /// <summary>
        /// talk.do: the demo's WebServlet (cmd=talk | rename | msg | list), POST with form fields (GET works too).
        /// talk, rename and msg act in the name of connection <c>id</c>, so the request must prove it holds it:
        /// a Comet4Net (v2) page sends its connection's secret as <c>cs</c>; a Comet4J page (legacy dialect)
        /// has no secret and is taken at its id, as Comet4J's demo did (turn AllowLegacyClients off to refuse them).
        /// </summary>
        private static async Task<IResult> TalkAsync(HttpContext http, CometEngine engine, AppStore store)
        {
            IFormCollection? form = null;
            if (http.Request.HasFormContentType)
            {
                try
                {
                    form = await http.Request.ReadFormAsync(http.RequestAborted);
                }
                catch (Exception e) when (e is InvalidDataException or BadHttpRequestException)
                {
                    // A multipart body without a valid boundary, a form past the size limits, a truncated body.
                    return Results.Json(new { error = "bad-form", message = "The form could not be read: " + e.Message }, statusCode: 400);
                }
            }
            string? Param(string name) => form?[name].FirstOrDefault() ?? http.Request.Query[name].FirstOrDefault();
            var cmd = Param("cmd");
            var id = Param("id");
            // On several nodes (Comet__Redis) this request may reach another node than the page's
            // connection: ConnectionExistsAsync and IsConnectionOwnerAsync see the whole cluster (reading Redis
            // without holding a thread), and the name comes with the cookie.
            var known = !string.IsNullOrEmpty(id) && await engine.ConnectionExistsAsync(id, http.RequestAborted);
            var owner = known && await engine.IsConnectionOwnerAsync(id, Param("cs"), http.RequestAborted);
            var name = (id is null ? null : store.Get(id)) ?? Names.FromCookie(http.Request.Cookies["userName"]);
            IResult? Refused() =>
                !known ? Results.Json(new { error = "unknown-id", message = "id must be the id of an open connection." }, statusCode: 400)
                : !owner ? Results.Json(new { error = "not-owner", message = "cs must be the secret of connection id (a Comet4Net page sends JS.Engine.getConnector().cs)." }, statusCode: 403)
                : null;
            switch (cmd)
            {
                case "talk":
                {
                    var text = (Param("text") ?? "").Trim();
                    if (Refused() is { } refused) return refused;
                    if (text.Length == 0 || text.Length > 2000)
                        return Results.Json(new { error = "bad-text", message = "text must have 1 to 2000 characters." }, statusCode: 400);
                    engine.SendToAll(Talker.Channel, new { type = "talk", id, name, text, transtime = Talker.Now() });
                    return Results.Text("", "text/html; charset=utf-8");
                }
                case "rename":
                {
                    var newName = (Param("newName") ?? "").Trim();
                    if (Refused() is { } refused) return refused;
                    if (newName.Length == 0 || newName.Length > 50)
                        return Results.Json(new { error = "bad-name", message = "newName must have 1 to 50 characters." }, statusCode: 400);
                    var oldName = Param("oldName") ?? name;
                    store.Put(id!, newName);
                    if (engine.GetConnection(id) is { } renamed) renamed.UserId = newName;
                    engine.SendToAll(Talker.Channel, new { type = "rename", id, oldName, newName, transtime = Talker.Now() });
                    return Results.Text("", "text/html; charset=utf-8");
                }
                case "msg":
                {
                    // A private message: every connection of the named user, and the sender's own.
                    var to = (Param("to") ?? "").Trim();
                    var text = (Param("text") ?? "").Trim();
                    if (Refused() is { } refused) return refused;
                    if (text.Length == 0 || text.Length > 2000)
                        return Results.Json(new { error = "bad-text", message = "text must have 1 to 2000 characters." }, statusCode: 400);
                    var message = new { type = "msg", id, name, to, text, transtime = Talker.Now() };
                    var reached = engine.SendToUser(to, Talker.Channel, message);
                    // SendToUser counts this node's connections; on several nodes the user may be on another.
                    if (reached == 0 && !engine.Backplane.Sessions.SharesSessions)
                        return Results.Json(new { error = "unknown-user", message = $"{to} is not online." }, statusCode: 404);
                    var senderUser = engine.GetConnection(id)?.UserId ?? name;
                    if (senderUser != to && !string.IsNullOrEmpty(senderUser)) engine.SendToUser(senderUser, Talker.Channel, message);
                    return Results.Json(new { reached });
                }
                case "list":
                    // Who is on the talker channel: on several nodes, every node's connections (their names are their users).
                    return Results.Json(engine.GetChannelMembers(Talker.Channel)
                        .Select(m => new { id = m.ConnectionId, name = store.Get(m.ConnectionId) ?? m.UserId ?? "" }));
                default:
                    return Results.Json(new { error = "bad-cmd", message = "cmd must be talk, rename, msg or list." }, statusCode: 400);
            }
        }
    }
}
