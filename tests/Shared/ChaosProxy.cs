using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Comet4Net.Tests.Shared;

/// <summary>
/// An HTTP proxy on 127.0.0.1 between clients and a server that misbehaves on <c>/conn</c>: it cuts
/// a share of the answers part-way (closing the connection, as a network fault or a proxy would)
/// and delays others. Everything else passes untouched. <see cref="Blackhole"/> makes it hold every
/// <c>/conn</c> request unanswered (a client gone away). <see cref="ChunkCutRate"/> is a harsher mode
/// that may cut any answer after any chunk; <see cref="Outage"/> drops every <c>/conn</c> connection
/// (new and in flight) while it lasts, as a network that went down. With several <see cref="Targets"/>
/// and a <see cref="FailTimeout"/>, a node that refuses connections (killed) is passed over, as nginx does.
/// </summary>
public sealed class ChaosProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _upstream;
    private readonly Random _random;
    private readonly object _sync = new();
    private int _cuts, _delays, _requests, _rolls, _outageCuts;
    private volatile bool _outage;
    // Cancelled when an outage begins (stays cancelled while it lasts); replaced when it ends.
    private CancellationTokenSource _outageCts = new();

    private ChaosProxy(WebApplication app, HttpClient upstream, int seed)
    {
        _app = app;
        _upstream = upstream;
        _random = new Random(seed);
    }

    /// <summary>The proxy's own address, to give to clients.</summary>
    public string Url { get; private set; } = "";

    /// <summary>Where requests go; may change (a restarted server).</summary>
    public Uri Target { get; set; } = new("http://127.0.0.1/");

    /// <summary>
    /// Several servers (the nodes of a cluster): each request goes to the next one in turn, so a
    /// client never reaches the same node twice in a row (no sticky sessions). Null: <see cref="Target"/> only.
    /// </summary>
    public Uri[]? Targets { get; set; }

    private int _turn;
    private int _passedOn, _refusals;
    private long _holds;
    private readonly ConcurrentDictionary<Uri, DateTime> _downUntil = new();
    private readonly ConcurrentDictionary<long, (Uri Target, string? CId)> _held = new();

    /// <summary>
    /// Passive health checks, as nginx's upstream module does them by default (max_fails=1,
    /// fail_timeout=10s, proxy_next_upstream error): a target that refuses a connection (a node that
    /// was killed) is passed over for this long, and the request that found it so goes to the next
    /// target if it can be sent again (GET, HEAD and WebSocket upgrades: nginx does not resend other
    /// methods). Zero, the default: no checks; a refused request ends with the client's connection
    /// dropped (a network error), every time.
    /// </summary>
    public TimeSpan FailTimeout { get; set; }

    /// <summary>
    /// <c>proxy_next_upstream ... http_503</c>, as the shipped samples/nginx-cluster.conf has it (README,
    /// "Rolling deploys"): a GET (or WebSocket upgrade) that a node answers 503 (draining) is sent to the
    /// next target instead, once per target. Default false: the 503 reaches the client.
    /// </summary>
    public bool PassOn503 { get; set; }

    /// <summary>Requests that found their target refusing connections and were sent to the next one.</summary>
    public int PassedOn => Volatile.Read(ref _passedOn);

    /// <summary>Connections refused by a target (each one marks it down for <see cref="FailTimeout"/>).</summary>
    public int Refusals => Volatile.Read(ref _refusals);

    /// <summary>
    /// The connection ids (the cid of a revival or WebSocket) with a /conn request in flight to
    /// <paramref name="target"/> now: which clients a node serves at this moment.
    /// </summary>
    public IReadOnlyList<string> HeldOn(Uri target) =>
        _held.Values.Where(h => h.Target == target && !string.IsNullOrEmpty(h.CId)).Select(h => h.CId!).ToList();

    private Uri NextTarget()
    {
        if (Targets is not { Length: > 0 } targets) return Target;
        var now = DateTime.UtcNow;
        for (var i = 0; i < targets.Length; i++)
        {
            var next = targets[(int)((uint)Interlocked.Increment(ref _turn) % (uint)targets.Length)];
            if (!_downUntil.TryGetValue(next, out var until) || until <= now) return next;
        }
        return targets[(int)((uint)Interlocked.Increment(ref _turn) % (uint)targets.Length)]; // all down: try anyway, as nginx does
    }

    /// <summary>True when the target refused the connection (nothing listens there: the node is dead); marks it down.</summary>
    private bool Refused(Uri target, Exception e)
    {
        if (FailTimeout <= TimeSpan.Zero) return false;
        var refused = false;
        for (Exception? x = e; x is not null && !refused; x = x.InnerException)
            refused = x is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } or SocketException { SocketErrorCode: SocketError.ConnectionRefused };
        if (!refused) return false;
        Interlocked.Increment(ref _refusals);
        _downUntil[target] = DateTime.UtcNow + FailTimeout;
        return true;
    }

    /// <summary>Refuse WebSocket upgrades (with 502), as a proxy that does not carry them. Default true.</summary>
    public bool BlockWebSockets { get; set; } = true;

    /// <summary>
    /// While true, WebSocket upgrade requests are taken and never answered (held until the client gives
    /// up), as a proxy that accepts the upgrade and then neither passes it on nor refuses it. Wins over
    /// <see cref="BlockWebSockets"/>. Counted in <see cref="SwallowedUpgrades"/>. Default false.
    /// </summary>
    public bool SwallowWebSockets { get; set; }

    /// <summary>WebSocket upgrades held unanswered by <see cref="SwallowWebSockets"/>.</summary>
    public int SwallowedUpgrades => Volatile.Read(ref _swallowed);

    private int _swallowed;
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Share of /conn answers cut part-way. Default 0.1.</summary>
    public double CutRate { get; set; } = 0.1;

    /// <summary>Share of /conn answers delayed (before and while forwarding). Default 0.2.</summary>
    public double DelayRate { get; set; } = 0.2;

    /// <summary>Longest delay. Default 300 ms.</summary>
    public int MaxDelayMs { get; set; } = 300;

    /// <summary>When false, everything passes untouched. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>While true, /conn requests are held and never answered (then cut when it ends).</summary>
    public bool Blackhole { get; set; }

    /// <summary>
    /// Harsher mode: after each chunk of a /conn answer is forwarded, the answer is cut (the client's
    /// connection closed abruptly) with this probability, so a long streamed answer may be cut after any
    /// chunk and every new answer may be cut again. Counted in <see cref="Cuts"/>. Applies only while
    /// <see cref="Enabled"/>. Default 0 (off).
    /// </summary>
    public double ChunkCutRate { get; set; }

    /// <summary>
    /// While true, the network is down for /conn: every new /conn request is refused (its connection
    /// closed without an answer) and every one in flight (waiting, delayed, held by
    /// <see cref="Blackhole"/> or streaming an answer) is cut at once. When it turns false, traffic
    /// passes again. Applies whatever <see cref="Enabled"/> says. Counted in <see cref="OutageCuts"/>.
    /// </summary>
    public bool Outage
    {
        get => _outage;
        set
        {
            lock (_sync)
            {
                if (value == _outage) return;
                _outage = value;
                // The old source is not disposed: requests may still hold its (cancelled) token.
                if (value) _outageCts.Cancel();
                else _outageCts = new CancellationTokenSource();
            }
        }
    }

    /// <summary>Turns <see cref="Outage"/> on for <paramref name="duration"/>, then off again.</summary>
    public async Task OutageAsync(TimeSpan duration, CancellationToken cancellationToken = default)
    {
        Outage = true;
        try
        {
            await Task.Delay(duration, cancellationToken);
        }
        finally
        {
            Outage = false;
        }
    }

    /// <summary>
    /// Share of client publishes (<c>cmd=pub</c> over HTTP, in the query or a form body; on a socket, the reply to
    /// a <c>pub</c>) whose answer is lost: the request reaches the server, which appends the message, but the
    /// client's connection is cut instead of the answer, as a network that fails at the worst moment. Applies
    /// only while <see cref="Enabled"/>. Counted in <see cref="PubCuts"/>. Default 0 (off).
    /// </summary>
    public double PubCutRate { get; set; }

    /// <summary>Publish answers cut by <see cref="PubCutRate"/>.</summary>
    public int PubCuts => Volatile.Read(ref _pubCuts);

    private int _pubCuts;
    private static readonly object PubCutKey = new();

    private bool RollPubCut()
    {
        var rate = PubCutRate;
        if (rate <= 0) return false;
        lock (_sync) return _random.NextDouble() < rate;
    }

    /// <summary>True for a /conn publish: cmd=pub in the query, or in a form body (read, then rewound for forwarding).</summary>
    private static async Task<bool> IsPubAsync(HttpContext context)
    {
        if (context.Request.Query["cmd"] == "pub") return true;
        if (!HttpMethods.IsPost(context.Request.Method) || context.Request.ContentLength is not (> 0 and < 1_000_000)) return false;
        context.Request.EnableBuffering();
        using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
        var body = await reader.ReadToEndAsync();
        context.Request.Body.Position = 0;
        return body.Split('&').Contains("cmd=pub");
    }

    /// <summary>True for a socket message that is the reply to a pub (the only reply with "delivered").</summary>
    private static bool IsPubReply(byte[] buffer, int count)
    {
        var text = System.Text.Encoding.UTF8.GetString(buffer, 0, count);
        return text.Contains("\"type\":\"reply\"", StringComparison.Ordinal) && text.Contains("\"delivered\":", StringComparison.Ordinal);
    }

    public int Cuts => Volatile.Read(ref _cuts);
    public int Delays => Volatile.Read(ref _delays);
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>/conn requests refused or cut by an <see cref="Outage"/> (not counted in <see cref="Cuts"/>).</summary>
    public int OutageCuts => Volatile.Read(ref _outageCuts);

    public static async Task<ChaosProxy> StartAsync(Uri target, int seed = 7)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var upstream = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 4096,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
        }) { Timeout = Timeout.InfiniteTimeSpan };
        var proxy = new ChaosProxy(app, upstream, seed) { Target = target };
        app.UseWebSockets();
        app.Run(proxy.ForwardAsync);
        await app.StartAsync();
        proxy.Url = app.Urls.First();
        return proxy;
    }

    private (bool Cut, int CutAfter, int Delay) Roll()
    {
        lock (_sync)
        {
            // Exactly CutRate of the answers are cut (every 1/CutRate-th, so that a short run
            // still sees cuts); where each one is cut, and which are delayed, is random.
            var n = ++_rolls;
            var every = CutRate > 0 ? Math.Max(1, (int)Math.Round(1 / CutRate)) : int.MaxValue;
            var cut = n % every == every / 2;
            var cutAfter = _random.Next(0, 2000);
            var delay = _random.NextDouble() < DelayRate ? _random.Next(1, MaxDelayMs) : 0;
            return (cut, cutAfter, delay);
        }
    }

    private bool RollChunkCut()
    {
        var rate = ChunkCutRate;
        if (rate <= 0) return false;
        lock (_sync) return _random.NextDouble() < rate;
    }

    private int NextRandom(int maxValue)
    {
        lock (_sync) return _random.Next(maxValue);
    }

    private int NextRandom(int minValue, int maxValue)
    {
        lock (_sync) return _random.Next(minValue, maxValue);
    }

    private CancellationToken OutageToken()
    {
        lock (_sync) return _outageCts.Token;
    }

    /// <summary>Drops the client's connection because of an outage.</summary>
    private void OutageCut(HttpContext context)
    {
        Interlocked.Increment(ref _outageCuts);
        context.Abort();
    }

    /// <summary>Every /conn request that reached the proxy: when (ms since 1970) and its query string, in arrival order.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<(long At, string Query)> ConnRequests { get; } = new();

    private async Task ForwardAsync(HttpContext context)
    {
        var isConn = context.Request.Path.StartsWithSegments("/conn");
        if (isConn) ConnRequests.Enqueue((DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), context.Request.QueryString.Value ?? ""));
        if (context.WebSockets.IsWebSocketRequest)
        {
            if (SwallowWebSockets)
            {
                Interlocked.Increment(ref _swallowed);
                using var held = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
                try { await Task.Delay(Timeout.Infinite, held.Token); } catch (OperationCanceledException) { }
                context.Abort();
                return;
            }
            if (BlockWebSockets) context.Response.StatusCode = StatusCodes.Status502BadGateway;
            else await RelayWebSocketAsync(context);
            return;
        }
        var chaos = isConn && Enabled;
        if (chaos && PubCutRate > 0 && await IsPubAsync(context) && RollPubCut()) context.Items[PubCutKey] = true;
        var (cut, cutAfter, delay) = chaos ? Roll() : (false, 0, 0);
        if (isConn) Interlocked.Increment(ref _requests);
        // Taken before Outage is read: an outage that begins after the check cancels this token.
        var outage = isConn ? OutageToken() : CancellationToken.None;
        if (isConn && (Outage || outage.IsCancellationRequested))
        {
            OutageCut(context);
            return;
        }
        using var linked = isConn ? CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, outage) : null;
        var aborted = linked?.Token ?? context.RequestAborted;
        if (isConn && Blackhole)
        {
            while (Blackhole && !aborted.IsCancellationRequested) await Task.Delay(50);
            if (outage.IsCancellationRequested) Interlocked.Increment(ref _outageCuts);
            context.Abort();
            return;
        }
        if (delay > 0)
        {
            Interlocked.Increment(ref _delays);
            try
            {
                await Task.Delay(delay, outage);
            }
            catch (OperationCanceledException)
            {
                OutageCut(context);
                return;
            }
        }

        var hold = isConn ? Interlocked.Increment(ref _holds) : 0;
        try
        {
            await SendOnAsync(context, isConn, hold, outage, aborted, cut, cutAfter, delay, chaos);
        }
        finally
        {
            if (isConn) _held.TryRemove(hold, out _);
        }
    }

    private async Task SendOnAsync(HttpContext context, bool isConn, long hold, CancellationToken outage, CancellationToken aborted, bool cut, int cutAfter, int delay, bool chaos)
    {
        var resendable = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);
        HttpResponseMessage response;
        for (var attempt = 1; ; attempt++)
        {
            var target = NextTarget();
            if (isConn) _held[hold] = (target, context.Request.Query["cid"].FirstOrDefault());
            var request = new HttpRequestMessage(new HttpMethod(context.Request.Method),
                new Uri(target, context.Request.Path + context.Request.QueryString));
            foreach (var (name, value) in context.Request.Headers)
            {
                if (name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.StartsWith(':')) continue;
                if (!request.Headers.TryAddWithoutValidation(name, value.ToArray()))
                {
                    request.Content ??= new StreamContent(context.Request.Body);
                    request.Content.Headers.TryAddWithoutValidation(name, value.ToArray());
                }
            }
            if (request.Content is null && context.Request.ContentLength > 0) request.Content = new StreamContent(context.Request.Body);

            try
            {
                response = await _upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, aborted);
                if (PassOn503 && response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable && resendable && request.Content is null
                    && attempt < (Targets?.Length ?? 1))
                {
                    response.Dispose();
                    Interlocked.Increment(ref _passedOn); // a draining node: the next one takes the request, as nginx does with http_503
                    continue;
                }
                break;
            }
            catch (Exception e) when (!context.RequestAborted.IsCancellationRequested && !outage.IsCancellationRequested
                                      && Refused(target, e) && resendable && request.Content is null && attempt < (Targets?.Length ?? 1))
            {
                Interlocked.Increment(ref _passedOn); // nothing reached the dead node: the next one takes the request
            }
            catch (Exception) when (!context.RequestAborted.IsCancellationRequested)
            {
                if (outage.IsCancellationRequested) Interlocked.Increment(ref _outageCuts);
                context.Abort(); // the server (or, in an outage, the network) is down: the client sees a network error
                return;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        using (response)
        {
            if (context.Items.ContainsKey(PubCutKey))
            {
                Interlocked.Increment(ref _pubCuts); // the server answered (the message is appended): the client never hears it
                context.Abort();
                return;
            }
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, value) in response.Headers)
                if (!name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)) context.Response.Headers[name] = value.ToArray();
            foreach (var (name, value) in response.Content.Headers) context.Response.Headers[name] = value.ToArray();
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[16384];
            long sent = 0;
            try
            {
                if (outage.IsCancellationRequested)
                {
                    OutageCut(context);
                    return;
                }
                while (true)
                {
                    var n = await body.ReadAsync(buffer, aborted);
                    if (n == 0) break;
                    if (cut && sent + n > cutAfter)
                    {
                        var part = (int)Math.Max(0, cutAfter - sent);
                        if (part > 0) await context.Response.Body.WriteAsync(buffer.AsMemory(0, part));
                        await context.Response.Body.FlushAsync();
                        Interlocked.Increment(ref _cuts);
                        context.Abort();
                        return;
                    }
                    await context.Response.Body.WriteAsync(buffer.AsMemory(0, n), aborted);
                    await context.Response.Body.FlushAsync(aborted);
                    sent += n;
                    if (chaos && RollChunkCut())
                    {
                        Interlocked.Increment(ref _cuts);
                        context.Abort();
                        return;
                    }
                    if (chaos && delay > 0 && NextRandom(4) == 0) await Task.Delay(NextRandom(1, 50), aborted);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
            {
                if (outage.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested) Interlocked.Increment(ref _outageCuts);
                context.Abort();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Blackhole = false;
        Outage = false;
        _stopping.Cancel();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
        _upstream.Dispose();
    }

    /// <summary>
    /// Carries a WebSocket to the next target, message by message, with the same faults as HTTP
    /// answers: each message from the server is the last before the connection is cut with
    /// probability ChunkCutRate, and an outage cuts every socket and refuses new ones.
    /// </summary>
    private async Task RelayWebSocketAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        var outage = OutageToken();
        if (Outage || outage.IsCancellationRequested)
        {
            OutageCut(context);
            return;
        }
        var hold = Interlocked.Increment(ref _holds);
        try
        {
            await RelayWebSocketOnAsync(context, outage, hold);
        }
        finally
        {
            _held.TryRemove(hold, out _);
        }
    }

    private async Task RelayWebSocketOnAsync(HttpContext context, CancellationToken outage, long hold)
    {
        System.Net.WebSockets.ClientWebSocket upstream;
        for (var attempt = 1; ; attempt++)
        {
            upstream = new System.Net.WebSockets.ClientWebSocket();
            upstream.Options.CollectHttpResponseDetails = true; // a node's refusal (404 unknown-cid, 503) is passed on as it was
            var target = NextTarget();
            _held[hold] = (target, context.Request.Query["cid"].FirstOrDefault());
            var url = new UriBuilder(target) { Scheme = target.Scheme == "https" ? "wss" : "ws", Path = context.Request.Path, Query = context.Request.QueryString.Value?.TrimStart('?') }.Uri;
            try
            {
                await upstream.ConnectAsync(url, outage);
                break;
            }
            catch (Exception e) when (!outage.IsCancellationRequested && Refused(target, e) && attempt < (Targets?.Length ?? 1))
            {
                upstream.Dispose();
                Interlocked.Increment(ref _passedOn); // an upgrade is a GET: nginx passes it to the next node too
            }
            catch (Exception) when (PassOn503 && !outage.IsCancellationRequested && (int)upstream.HttpStatusCode == 503 && attempt < (Targets?.Length ?? 1))
            {
                upstream.Dispose();
                Interlocked.Increment(ref _passedOn); // a draining node's 503 to the upgrade: the next node, as nginx does with http_503
            }
            catch (Exception)
            {
                // The node answered the upgrade with a status of its own: the client sees it, as through nginx;
                // no answer at all is the proxy's 502.
                var status = (int)upstream.HttpStatusCode;
                context.Response.StatusCode = status is >= 400 and < 600 ? status : StatusCodes.Status502BadGateway;
                if (upstream.HttpResponseHeaders?.TryGetValue("Retry-After", out var retry) == true) context.Response.Headers.RetryAfter = retry.ToArray();
                upstream.Dispose();
                return;
            }
        }
        using var _ = upstream;
        using var client = await context.WebSockets.AcceptWebSocketAsync();
        using var both = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, outage);
        var chaosCut = false;
        var nodeClosed = false;
        async Task PumpAsync(System.Net.WebSockets.WebSocket from, System.Net.WebSockets.WebSocket to, bool chaos)
        {
            var buffer = new byte[65536];
            while (!both.IsCancellationRequested)
            {
                var result = await from.ReceiveAsync(buffer, both.Token);
                if (result.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
                {
                    await to.CloseOutputAsync(result.CloseStatus ?? System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, result.CloseStatusDescription, CancellationToken.None);
                    if (chaos) nodeClosed = true; // the node closed: what it wrote before its close frame still goes out
                    return;
                }
                if (chaos && result.EndOfMessage && Enabled && PubCutRate > 0 && IsPubReply(buffer, result.Count) && RollPubCut())
                {
                    Interlocked.Increment(ref _pubCuts);
                    chaosCut = true;
                    return; // the reply to a pub is lost with the connection
                }
                await to.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, both.Token);
                if (chaos && result.EndOfMessage && Enabled && RollChunkCut())
                {
                    Interlocked.Increment(ref _cuts);
                    chaosCut = true;
                    return; // the connection breaks right after this message
                }
            }
        }
        try
        {
            await Task.WhenAny(PumpAsync(upstream, client, chaos: true), PumpAsync(client, upstream, chaos: false));
        }
        catch (Exception)
        {
        }
        if (outage.IsCancellationRequested) Interlocked.Increment(ref _outageCuts);
        upstream.Abort();
        if ((chaosCut || nodeClosed) && !outage.IsCancellationRequested)
        {
            // Cut right after the message, as documented: the connection closes (no close frame) once what was
            // written has left. An abort here would drop Kestrel's unsent output, the handshake's 101 among it
            // when the first message is the one cut: the page would see a socket that never opened, a proxy
            // that does not carry WebSockets rather than a cut.
            client.Dispose();
            return;
        }
        client.Abort();
    }
}
