using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using Comet4Net.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// Comet4Net listening on a UNIX domain socket (<c>--urls http://unix:/path</c>), spoken to directly and
/// through nginx with <c>samples/nginx-unix.conf</c> itself (only its socket path and port changed).
/// </summary>
[TestClass]
public sealed class UnixSocketTests
{
    /// <summary>The socket and port lines of samples/nginx-unix.conf that the test replaces.</summary>
    private const string SiteSocket = "server unix:/run/comet4net/chat.sock;";
    private const string SiteListen = "listen 80;";
    private const string SiteAccessLog = "access_log /var/log/nginx/access.log comet4net;";

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task Over_the_socket_the_script_a_stream_and_a_long_poll_work()
    {
        if (OperatingSystem.IsWindows()) Assert.Inconclusive("UNIX sockets behind nginx are a Linux/macOS setup.");
        var token = TestContext.CancellationToken;
        using var directory = new ShortTempDirectory();
        var socket = directory.File("c.sock");
        await using var server = await CometTestServer.StartAsync(unixSocket: socket);
        Assert.IsTrue(File.Exists(socket), "Kestrel made the socket file");

        using (var script = await server.Client.GetAsync("/comet4j.js", token))
        {
            Assert.AreEqual(HttpStatusCode.OK, script.StatusCode);
            StringAssert.Contains(await script.Content.ReadAsStringAsync(token), "JS.Engine");
        }

        // stream: the message is a frame of the open answer.
        var streaming = new V2Client(server.Client);
        await streaming.ConnectAsync("stream");
        Assert.AreEqual("stream", streaming.WorkStyle);
        var (frame, open) = await FirstMessageAsync(server.Engine, streaming, () => server.Engine.SendToAll("news", "over the socket"), token);
        Assert.IsTrue(open, "the frame came while the stream was open");
        Assert.AreEqual("news", (string?)frame["channel"]);
        Assert.AreEqual("over the socket", (string?)frame["data"]);

        // lpool: the held poll is answered with the message.
        var polling = new V2Client(server.Client);
        await polling.ConnectAsync("lpool");
        Assert.AreEqual("lpool", polling.WorkStyle);
        var poll = polling.PollAsync(token);
        await Wait.UntilAsync(() => server.Engine.GetConnection(polling.Id)?.State == ConnectionState.Alive, 10, "the long poll to be held");
        server.Engine.SendTo("hello", polling.Id, "polled");
        var (status, frames) = await poll;
        Assert.AreEqual(HttpStatusCode.OK, status);
        Assert.AreEqual("polled", (string?)frames.Single(f => f["seq"] is not null)["data"]);

        // Without a proxy saying who the client is, a socket peer has no IP address.
        Assert.AreEqual("unknown", server.Engine.GetConnection(polling.Id)!.ClientIp);
    }

    [TestMethod]
    [Timeout(90000, CooperativeCancellation = true)]
    public async Task Behind_nginx_with_the_sample_site_a_streamed_frame_arrives_while_the_stream_is_open()
    {
        if (!NginxProxy.IsAvailable) Assert.Inconclusive($"nginx is not installed ({NginxProxy.NginxPath}).");
        var token = TestContext.CancellationToken;
        using var directory = new ShortTempDirectory();
        await using var server = await StartBehindNginxAsync(directory.File("c.sock"), null, token);
        var nginx = server.Nginx;
        using var http = new HttpClient { BaseAddress = new Uri(nginx.Url), Timeout = TimeSpan.FromSeconds(30) };

        using (var script = await http.GetAsync("/comet4j.js", token))
        {
            Assert.AreEqual(HttpStatusCode.OK, script.StatusCode, nginx.ErrorLog);
            Assert.AreEqual("nginx", script.Headers.Server.FirstOrDefault()?.Product?.Name, "the answer came through nginx");
            StringAssert.Contains(await script.Content.ReadAsStringAsync(token), "JS.Engine");
        }

        var client = new V2Client(http);
        await client.ConnectAsync("stream");
        Assert.AreEqual("127.0.0.1", server.Engine.GetConnection(client.Id)!.ClientIp, "the address nginx saw, from X-Forwarded-For");
        var watch = new Stopwatch();
        var (frame, open) = await FirstMessageAsync(server.Engine, client, () =>
        {
            watch.Start();
            server.Engine.SendToAll("news", "through nginx");
        }, token);
        watch.Stop();
        TestContext.WriteLine($"the frame came through nginx {watch.ElapsedMilliseconds} ms after the send");
        Assert.AreEqual("through nginx", (string?)frame["data"]);
        Assert.IsLessThan(TimeSpan.FromSeconds(5), watch.Elapsed, "nginx passed the frame on at once, not when the stream ended");
        Assert.IsTrue(open, "the frame came while the stream was still open");

        // A WebSocket through the site's /conn location: upgraded, same origin (Host passed on), and a message arrives.
        var ws = new V2Client(http);
        await ws.ConnectAsync("websocket");
        Assert.AreEqual("websocket", ws.WorkStyle);
        using var webSocket = new ClientWebSocket();
        webSocket.Options.SetRequestHeader("Origin", nginx.Url);
        using (var connect = CancellationTokenSource.CreateLinkedTokenSource(token))
        {
            connect.CancelAfter(TimeSpan.FromSeconds(10));
            await webSocket.ConnectAsync(new Uri(nginx.Url.Replace("http://", "ws://") + ws.RevivalUrl("websocket")), connect.Token);
        }
        server.Engine.SendTo("hello", ws.Id, "over a websocket");
        var message = await ReceiveMessageAsync(webSocket, token);
        Assert.AreEqual("over a websocket", (string?)message["data"], nginx.ErrorLog);
        await webSocket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, token);
    }

    [TestMethod]
    [Timeout(90000, CooperativeCancellation = true)]
    public async Task Behind_nginx_a_client_that_stops_reading_a_stream_is_ended_by_the_servers_SendTimeout()
    {
        // proxy_buffering off: nginx reads from the app only what the client takes, so the app sees a client that
        // stops reading (SendTimeout, MaxPendingBytes). Buffering on, nginx would take the whole stream into
        // its temp files (up to 1 GB) and the app would go on sending to a client that reads nothing.
        if (!NginxProxy.IsAvailable) Assert.Inconclusive($"nginx is not installed ({NginxProxy.NginxPath}).");
        var token = TestContext.CancellationToken;
        using var directory = new ShortTempDirectory();
        var dying = new List<string>();
        await using var server = await StartBehindNginxAsync(directory.File("c.sock"), o =>
        {
            o.SendTimeout = 1000;
            o.Heartbeat = 0;
            o.MaxPendingMessages = 100000;
            o.MaxPendingBytes = 1L << 30;
        }, token, context => context.Engine.On<Comet4Net.Events.DyingEvent>(e => { lock (dying) dying.Add(e.Connection!.Id); }));
        using var http = new HttpClient { BaseAddress = new Uri(server.Nginx.Url), Timeout = TimeSpan.FromSeconds(30) };

        var slow = new V2Client(http);
        await slow.ConnectAsync("stream");
        using var reader = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream,
            System.Net.Sockets.ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await reader.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Nginx.Port), token);
        await reader.SendAsync(Encoding.ASCII.GetBytes($"GET {slow.RevivalUrl("stream")} HTTP/1.1\r\nHost: 127.0.0.1:{server.Nginx.Port}\r\n\r\n"),
            System.Net.Sockets.SocketFlags.None, token);
        await Wait.UntilAsync(() => server.Engine.GetConnection(slow.Id)?.State == ConnectionState.Alive, 10, "the stream to attach");

        // 16 MiB, more than the socket buffers between the app and the client hold (a few MiB on loopback).
        var big = new string('x', 64 * 1024);
        for (var i = 0; i < 256; i++) server.Engine.SendTo("hello", slow.Id, big);
        await Wait.UntilAsync(() => { lock (dying) return dying.Contains(slow.Id); }, 20,
            "the server to end the stream of a client that reads nothing (nginx must not buffer it: proxy_buffering off)");
        Assert.IsGreaterThan(0, server.Engine.GetStatistics().LimitHits, "ended by the send limit");
    }

    /// <summary>A Comet server on <paramref name="socket"/> and nginx in front of it, running samples/nginx-unix.conf.</summary>
    private static async Task<NginxFronted> StartBehindNginxAsync(string socket, Action<CometOptions>? configure, CancellationToken token,
        Action<CometContext>? setup = null)
    {
        var server = await CometTestServer.StartAsync(configure, setup, unixSocket: socket, middleware: app =>
        {
            // The client's address from nginx's X-Forwarded-For, as the README says (a socket peer has no
            // address, so no KnownProxies entry can name nginx: only who may write the socket can connect).
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto };
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            app.UseForwardedHeaders(forwarded);
            // Streams say X-Accel-Buffering: no, which turns nginx's buffering off for them whatever the
            // site says: removed here, so that the site's own settings are what is tested.
            app.Use((context, next) =>
            {
                context.Response.OnStarting(() =>
                {
                    context.Response.Headers.Remove("X-Accel-Buffering");
                    return Task.CompletedTask;
                });
                return next(context);
            });
        });
        try
        {
            // nginx's workers run as another user ("nobody") when it is started as root: like www-data in
            // the README, they need write permission on the socket (the directory is 0755).
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(socket, (UnixFileMode)0b110_110_110);
            var site = await File.ReadAllTextAsync(Path.Combine(TestPaths.RepositoryRoot(), "samples", "nginx-unix.conf"), token);
            StringAssert.Contains(site, SiteSocket, "samples/nginx-unix.conf names the socket as the test expects");
            StringAssert.Contains(site, SiteListen, "samples/nginx-unix.conf listens as the test expects");
            var nginx = await NginxProxy.StartAsync(port => site
                .Replace(SiteSocket, $"server unix:{socket};", StringComparison.Ordinal)
                .Replace(SiteListen, $"listen 127.0.0.1:{port};", StringComparison.Ordinal)
                .Replace(SiteAccessLog, "access_log off;", StringComparison.Ordinal), token); // NginxAccessLogTests reads the log
            return new NginxFronted(server, nginx);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private sealed class NginxFronted(CometTestServer server, NginxProxy nginx) : IAsyncDisposable
    {
        internal CometTestServer Server { get; } = server;
        internal NginxProxy Nginx { get; } = nginx;
        internal CometEngine Engine => Server.Engine;

        public async ValueTask DisposeAsync()
        {
            await Nginx.DisposeAsync();
            await Server.DisposeAsync();
        }
    }

    /// <summary>
    /// Opens <paramref name="client"/>'s stream, calls <paramref name="send"/> once the opening heartbeat is
    /// there, and returns the first message frame, and whether the server still held the stream open then.
    /// </summary>
    private static async Task<(JObject Frame, bool Open)> FirstMessageAsync(CometEngine engine, V2Client client, Action send, CancellationToken token)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var sent = false;
        try
        {
            await foreach (var frame in client.StreamAsync(timeout.Token))
            {
                if (frame["seq"] is not null) return (frame, engine.GetConnection(client.Id)?.State == ConnectionState.Alive);
                if (!sent && (string?)frame["data"]?["type"] == "hb")
                {
                    sent = true;
                    send();
                }
            }
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            Assert.Fail(sent
                ? "The message did not arrive within 10 s of the send: something holds the stream back."
                : "The stream's opening heartbeat did not arrive within 10 s: something holds the stream back.");
        }
        throw new AssertFailedException("the stream ended without a message");
    }

    /// <summary>The first frame with a sequence number in the socket's messages (NDJSON lines).</summary>
    private static async Task<JObject> ReceiveMessageAsync(ClientWebSocket socket, CancellationToken token)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var buffer = new byte[65536];
        while (true)
        {
            var text = new StringBuilder();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, timeout.Token);
                text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
            } while (!result.EndOfMessage);
            if (result.MessageType == WebSocketMessageType.Close) throw new AssertFailedException("the WebSocket closed without a message");
            if (V2Client.Lines(text.ToString()).FirstOrDefault(f => f["seq"] is not null) is { } frame) return frame;
        }
    }

    /// <summary>
    /// A temp directory with a short path (a socket path has at most about 107 bytes), 0755 so that
    /// nginx's workers can reach the socket inside; deleted with what it holds.
    /// </summary>
    private sealed class ShortTempDirectory : IDisposable
    {
        private readonly string _path;

        internal ShortTempDirectory()
        {
            var root = Path.GetTempPath();
            if (root.Length > 60 && Directory.Exists("/tmp")) root = "/tmp";
            _path = Path.Combine(root, "c4n-" + Guid.NewGuid().ToString("N")[..8]);
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(_path);
            else Directory.CreateDirectory(_path, (UnixFileMode)0b111_101_101);
        }

        internal string File(string name) => Path.Combine(_path, name);

        public void Dispose()
        {
            try
            {
                Directory.Delete(_path, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
