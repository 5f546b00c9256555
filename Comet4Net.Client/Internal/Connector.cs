using System.Net;
using System.Text;
using System.Text.Json;
using Comet4Net.Client.Internal.Transports;
using Microsoft.Extensions.Logging;

namespace Comet4Net.Client.Internal;

/// <summary>What the connector tells its owner.</summary>
internal interface IConnectorHost
{
    /// <summary>The channels to name in <c>sub</c> on connect, or null to name none (every allowed channel).</summary>
    IReadOnlyCollection<string>? ChannelsToName();

    /// <summary>Hands a message to the application; the connector acknowledges it once this returns.</summary>
    ValueTask DispatchAsync(CometMessage message, CancellationToken cancellationToken);

    void Started(Session session, CometTransport transport);

    void Gap(long from, long? to, string reason);

    void TransportChanged(CometTransport? previous, CometTransport current, string reason);

    void StateChanged(CometClientState state);
}

/// <summary>
/// The connector: an explicit state machine (<see cref="CometClientState"/>) over the ordered transports of
/// <see cref="TransportOrder"/>. It keeps the position (cid, secret, ack, epoch) across every failure, so a
/// revival on any transport and any node re-sends exactly what follows it.
/// </summary>
internal sealed class Connector
{
    internal const string ClientVersion = "2.0.0";
    private const string SystemChannel = "c4j";

    private readonly IConnectorHost _host;
    private readonly Dictionary<CometTransport, ITransport> _transports;
    private readonly CometTransport? _forced;
    private TransportOrder? _order;
    private volatile Session? _session;
    private long _lastSeq;
    private readonly DeltaBases _deltas = new();
    private string? _kickReason;
    private TimeSpan _moveAfter; // the delay hint of the last move frame
    private CometClientState _state = CometClientState.Idle;
    private readonly TokenRefresher _tokens;

    internal Connector(Uri endpoint, HttpClient http, CometClientOptions options, IConnectorHost host, ILogger logger)
    {
        Endpoint = endpoint;
        Http = http;
        Options = options;
        Logger = logger;
        _host = host;
        _forced = CometTransports.Parse(options.Transport);
        _tokens = new TokenRefresher(this);
        _transports = new()
        {
            [CometTransport.WebSocket] = new WebSocketTransport(),
            [CometTransport.Stream] = new StreamTransport(),
            [CometTransport.Sse] = new SseTransport(),
            [CometTransport.LongPolling] = new LongPollTransport(),
        };
    }

    internal Uri Endpoint { get; }

    internal HttpClient Http { get; }

    internal CometClientOptions Options { get; }

    internal ILogger Logger { get; }

    /// <summary>Where the state machine is.</summary>
    internal CometClientState State => _state;

    /// <summary>The connection, once the server gave one (null while connecting).</summary>
    internal Session? Session => _session;

    /// <summary>The sequence number of the last message dispatched: what the next revival acknowledges.</summary>
    internal long LastSeq => Interlocked.Read(ref _lastSeq);

    /// <summary>The transport in use (or to be tried next).</summary>
    internal CometTransport? Transport => _order?.Current;

    /// <summary>How long an open transport may stay silent: 1.5 × the heartbeat plus the margin (the timeout plus the margin without heartbeats).</summary>
    internal TimeSpan Silence => _session is { Heartbeat: var hb } s && hb > TimeSpan.Zero
        ? hb * 1.5 + Options.HeartbeatMargin
        : (_session?.Timeout ?? TimeSpan.FromSeconds(60)) + Options.OpenTimeout;

    internal void SetState(CometClientState state)
    {
        if (_state == state) return;
        _state = state;
        _host.StateChanged(state);
    }

    /// <summary>Whether <paramref name="transport"/> has opened on this connection's path.</summary>
    internal bool HasWorked(CometTransport transport) => _order?.HasWorked(transport) == true;

    /// <summary>A transport opened: the state is Open, and the transport has worked on this path.</summary>
    internal void Opened(CometTransport transport)
    {
        if (_order is { } order && order.Current == transport) order.Opened();
        SetState(CometClientState.Open);
    }

    /// <summary>
    /// Runs until the client stops: returns why (kicked, refused), or throws <see cref="OperationCanceledException"/>
    /// when <paramref name="stop"/> fires.
    /// </summary>
    internal async Task<(CometStopReason Reason, string? Message)> RunAsync(CancellationToken stop)
    {
        var failures = 0;
        var pollOnce = false;
        var drained = false; // a 503 draining answered last: the next one waits its backoff
        var spread = TimeSpan.Zero; // after a second 503 draining in a row: the node's spread, the backoff's floor until a node answers
        while (true)
        {
            stop.ThrowIfCancellationRequested();
            RunResult result;
            CometTransport? transport = null;
            if (_session is null)
            {
                SetState(CometClientState.Connecting);
                result = await Guarded(ConnectAsync, stop).ConfigureAwait(false);
                if (result.Kind == RunKind.Ended)
                {
                    (failures, drained, spread) = (0, false, TimeSpan.Zero);
                    continue;
                }
                Log.ConnectFailed(Logger, result.Kind, result.Message);
            }
            else
            {
                transport = pollOnce ? CometTransport.LongPolling : _order!.Current;
                pollOnce = false;
                SetState(CometClientState.Opening);
                var run = _transports[transport.Value];
                using (var linked = _tokens.Link(stop)) result = await Guarded(_ => run.RunAsync(this, linked.Token), stop).ConfigureAwait(false);
                if (_tokens.Refused is { } refused) return (CometStopReason.Refused, refused); // a refresh in the background was refused
                if (result.Frames > 0) (failures, drained, spread) = (0, false, TimeSpan.Zero);
                switch (result.Kind)
                {
                    case RunKind.Ended when result.Frames > 0:
                        continue;
                    case RunKind.Ended:
                        break; // an answer with nothing in it (superseded, or cut short): not at once again
                    case RunKind.AskByPolling:
                        pollOnce = true;
                        continue;
                    case RunKind.NotCarried:
                        // The next transport at once; the last one (or a forced one) waits like any failure.
                        if (Move(transport.Value, _order!.NotCarried(), $"{transport.Value.WireName()} is not carried on this path")) continue;
                        break;
                    case RunKind.NetworkFailure:
                        Move(transport.Value, _order!.NetworkFailure(result.Opened), $"{transport.Value.WireName()} did not open");
                        break;
                    case RunKind.UnknownConnection:
                        Reset();
                        continue;
                    case RunKind.TokenExpired: // token-expired: a new token, then a revival from the same position
                        result = await _tokens.RefreshAsync(stop).ConfigureAwait(false);
                        if (result.Kind == RunKind.Ended) continue;
                        if (result.Kind == RunKind.UnknownConnection) Reset();
                        if (result.Kind == RunKind.UnknownConnection) continue;
                        break;
                    case RunKind.Moved:
                        break; // after the delay hint, below
                }
            }
            stop.ThrowIfCancellationRequested();
            TimeSpan delay;
            switch (result.Kind)
            {
                case RunKind.Kicked:
                    return (CometStopReason.Kicked, result.Message ?? _kickReason ?? "kicked");
                case RunKind.Refused:
                    return (CometStopReason.Refused, result.Message);
                case RunKind.Moved:
                    delay = result.RetryAfter ?? TimeSpan.Zero;
                    break;
                case RunKind.Draining when !drained:
                    drained = true;
                    delay = TimeSpan.FromMilliseconds(250 * Random.Shared.NextDouble()); // the balancer's next node
                    break;
                case RunKind.Unavailable when result.RetryAfter is { } after:
                    delay = after * (1 + 0.25 * Random.Shared.NextDouble());
                    break;
                default:
                    if (result.Kind == RunKind.Draining) spread = result.RetryAfter ?? TimeSpan.FromSeconds(5); // no other node answered
                    delay = Backoff.Delay(failures++, Options.RetryBase, Options.RetryMax, _session?.Resume ?? TimeSpan.Zero, Random.Shared.NextDouble(), spread);
                    break;
            }
            if (transport is { } t) Log.RunEnded(Logger, t, result.Kind, result.Message, result.Opened, result.Frames, delay.TotalMilliseconds);
            SetState(CometClientState.Waiting);
            await Task.Delay(delay, stop).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs a step; whatever it throws that is not the client stopping (a socket error surfacing from some
    /// corner of the stack) is a network failure, never the end of the client: only the server's word stops it.
    /// </summary>
    private async Task<RunResult> Guarded(Func<CancellationToken, Task<RunResult>> step, CancellationToken stop)
    {
        try
        {
            return await step(stop).ConfigureAwait(false);
        }
        catch (Exception e) when (!(e is OperationCanceledException && stop.IsCancellationRequested))
        {
            Log.Unexpected(Logger, e);
            return new(RunKind.NetworkFailure, Message: e.Message);
        }
    }

    private bool Move(CometTransport from, bool moved, string reason)
    {
        if (!moved || _order is null) return false;
        Log.TransportChanged(Logger, from, _order.Current, reason);
        _host.TransportChanged(from, _order.Current, reason);
        return true;
    }

    /// <summary>The server forgot the connection: everything after the position may be lost; connect again.</summary>
    private void Reset()
    {
        var from = LastSeq + 1;
        _session = null;
        _host.Gap(from, null, "reset");
    }

    /// <summary><c>cmd=conn</c>: a new connection. <see cref="RunKind.Ended"/> means connected.</summary>
    private async Task<RunResult> ConnectAsync(CancellationToken stop)
    {
        var query = new List<(string, string?)> { ("cmd", "conn"), ("cv", ClientVersion) };
        // Forced SSE is asked on the revival (a conn with ws=sse would be the one-URL stream); a WebSocket always is.
        if (_forced is CometTransport.Stream or CometTransport.LongPolling) query.Add(("ws", _forced.Value.WireName()));
        else if (_forced is CometTransport.Sse) query.Add(("ws", "stream"));
        else query.Add(("wsok", "1"));
        if (_host.ChannelsToName() is { } channels) query.Add(("sub", string.Join(',', channels)));
        using var open = CancellationTokenSource.CreateLinkedTokenSource(stop);
        open.CancelAfter(Options.OpenTimeout);
        try
        {
            using var request = await NewRequestAsync(HttpMethod.Get, query, open.Token).ConfigureAwait(false);
            using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseContentRead, open.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(open.Token).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK) return FromStatus(response, body, connecting: true);
            var first = body.Split('\n', 2)[0];
            using var doc = JsonDocument.Parse(first);
            var d = doc.RootElement.GetProperty("data");
            if (Str(d, "type") != "conn") return new(RunKind.NetworkFailure, Message: "the conn answer has no conn frame");
            var session = new Session(
                Str(d, "cId")!, Str(d, "cs")!, Str(d, "epoch"),
                TimeSpan.FromMilliseconds(Num(d, "resume")),
                TimeSpan.FromMilliseconds(Num(d, "heartbeat")),
                TimeSpan.FromMilliseconds(Num(d, "timeout") is > 0 and var timeout ? timeout : 60000),
                CometTransports.Parse(Str(d, "ws")) ?? CometTransport.Stream,
                Strings(d, "channels"), Strings(d, "refused"),
                Num(d, "seq"));
            var previous = _order?.Current;
            _order = TransportOrder.For(_forced, session.ServerChoice);
            Interlocked.Exchange(ref _lastSeq, session.StartSeq);
            _session = session;
            _tokens.Schedule(Num(d, "ttl"), stop); // a connection made with a signed token: refreshed before it expires
            Log.Connected(Logger, Endpoint, session.ConnectionId, _order.Current);
            _host.Started(session, _order.Current);
            if (previous != _order.Current) _host.TransportChanged(previous, _order.Current, previous is null ? "connected" : "new connection");
            return new(RunKind.Ended, Opened: true);
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            return new(RunKind.NetworkFailure, Message: "connect timed out");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return new(RunKind.NetworkFailure, Message: e.Message);
        }
    }

    /// <summary>The revival query of a transport: cid, cs, ack, ep, ws (and names=0 for SSE).</summary>
    internal List<(string, string?)> RevivalQuery(CometTransport transport)
    {
        var s = _session!;
        var query = new List<(string, string?)>
        {
            ("cmd", "revival"), ("cid", s.ConnectionId), ("cs", s.Secret),
            ("ack", LastSeq.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("ws", transport.WireName()),
        };
        if (!string.IsNullOrEmpty(s.Epoch)) query.Add(("ep", s.Epoch));
        if (transport == CometTransport.Sse) query.Add(("names", "0"));
        return query;
    }

    /// <summary>The endpoint with <paramref name="query"/>, the token and the caller's parameters.</summary>
    internal async ValueTask<Uri> UrlAsync(IEnumerable<(string Name, string? Value)> query, CancellationToken cancellationToken)
    {
        var text = new StringBuilder(Endpoint.GetLeftPart(UriPartial.Path));
        var existing = Endpoint.Query.TrimStart('?');
        var separator = '?';
        if (existing.Length > 0)
        {
            text.Append('?').Append(existing);
            separator = '&';
        }
        void Add(string name, string value)
        {
            text.Append(separator).Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
            separator = '&';
        }
        foreach (var (name, value) in query) if (value is not null) Add(name, value);
        if (Options.TokenProvider is { } provider && await provider(cancellationToken).ConfigureAwait(false) is { } token) Add("token", token);
        foreach (var (name, value) in Options.Parameters) Add(name, value);
        if (Options.Delta) Add("delta", "fossil");
        return new Uri(text.ToString());
    }

    /// <summary>A request to the endpoint with the caller's headers.</summary>
    internal async ValueTask<HttpRequestMessage> NewRequestAsync(HttpMethod method, IEnumerable<(string, string?)> query, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(method, await UrlAsync(query, cancellationToken).ConfigureAwait(false));
        foreach (var (name, value) in Options.Headers) request.Headers.TryAddWithoutValidation(name, value);
        return request;
    }

    /// <summary>What an answer other than 200 means (docs/protocol.md, Errors).</summary>
    internal static RunResult FromStatus(HttpResponseMessage response, string body, bool connecting = false)
    {
        var status = (int)response.StatusCode;
        var (error, message, reason) = ErrorOf(body);
        return status switch
        {
            204 => new(RunKind.Ended),
            404 when !connecting => new(RunKind.UnknownConnection, Message: message),
            410 => new(RunKind.Kicked, Message: reason ?? message ?? "kicked"),
            503 when error == "draining" => new(RunKind.Draining, RetryAfter: SpreadOf(body), Message: message),
            429 or 503 => new(RunKind.Unavailable, RetryAfter: RetryAfter(response.Headers.RetryAfter), Message: message),
            >= 400 and < 500 => new(RunKind.Refused, Message: message ?? error ?? $"HTTP {status}"),
            _ => new(RunKind.NetworkFailure, Message: $"HTTP {status}"),
        };
    }

    internal static TimeSpan? RetryAfter(System.Net.Http.Headers.RetryConditionHeaderValue? header)
    {
        if (header?.Delta is { } delta) return delta;
        if (header?.Date is { } date) return date - DateTimeOffset.UtcNow is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero;
        return null;
    }

    /// <summary>A <c>503 draining</c> answer's <c>spread</c> (ms), if it has one.</summary>
    internal static TimeSpan? SpreadOf(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("spread", out var spread)
                   && spread.TryGetDouble(out var ms) && ms > 0 ? TimeSpan.FromMilliseconds(ms) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal static (string? Error, string? Message, string? Reason) ErrorOf(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, null, null);
            string? reason = null;
            if (root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object) reason = Str(data, "reason");
            return (Str(root, "error"), Str(root, "message"), reason);
        }
        catch (JsonException)
        {
            return (null, null, null);
        }
    }

    /// <summary>
    /// One line of the wire (an NDJSON frame): a message is dispatched once (a re-sent one is skipped) and
    /// then becomes the position; system frames say what the transport does next.
    /// </summary>
    internal async ValueTask<FrameKind> HandleLineAsync(string line, CancellationToken stop)
    {
        if (string.IsNullOrWhiteSpace(line)) return FrameKind.Other;
        CometMessage message;
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var channel = Str(root, "channel");
            if (channel is null) return FrameKind.Invalid;
            var data = root.TryGetProperty("data", out var d) ? d.Clone() : default;
            if (channel == SystemChannel) return SystemFrame(data);
            long? seq = root.TryGetProperty("seq", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : null;
            var history = root.TryGetProperty("history", out var h) && h.ValueKind == JsonValueKind.True;
            if (seq is { } n && !history && n <= LastSeq) return FrameKind.Duplicate;
            if (root.TryGetProperty("d", out _) && !_deltas.TryRebuild(channel, seq, root, ref data)) return FrameKind.Resync;
            message = new CometMessage(seq, channel, Str(root, "event"), data, Num(root, "time"), Str(root, "from"), history);
        }
        catch (JsonException)
        {
            Log.BadFrame(Logger, line.Length > 200 ? line[..200] : line);
            return FrameKind.Invalid;
        }
        await _host.DispatchAsync(message, stop).ConfigureAwait(false);
        if (message.Seq is { } seqDone && !message.History) Interlocked.Exchange(ref _lastSeq, Math.Max(LastSeq, seqDone));
        return FrameKind.Message;
    }

    private FrameKind SystemFrame(JsonElement data)
    {
        if (data.ValueKind != JsonValueKind.Object) return FrameKind.Other;
        switch (Str(data, "type"))
        {
            case "hb":
                return FrameKind.Heartbeat;
            case "dying":
                return FrameKind.Dying;
            case "superseded":
                return FrameKind.Superseded;
            case "reconnect":
                return FrameKind.Reconnect;
            case "token-expired":
                return FrameKind.TokenExpired;
            case "move":
                _moveAfter = TimeSpan.FromMilliseconds(Math.Clamp(Num(data, "after"), 0, 60000));
                return FrameKind.Move;
            case "kicked":
                _kickReason = Str(data, "reason") ?? "kicked";
                return FrameKind.Kicked;
            case "gap":
                var from = Num(data, "from");
                long? to = data.TryGetProperty("to", out var t) && t.ValueKind == JsonValueKind.Number ? t.GetInt64() : null;
                _host.Gap(from, to, "gap");
                // Every number up to `to` is settled (lost): acknowledging it keeps the notice from coming again.
                if (to is { } last) Interlocked.Exchange(ref _lastSeq, Math.Max(LastSeq, last));
                return FrameKind.Gap;
            default:
                return FrameKind.Other;
        }
    }

    /// <summary>What a transport's run ends with after a frame, or null to read on.</summary>
    internal RunResult? After(FrameKind kind, bool opened, int frames) => kind switch
    {
        FrameKind.Dying or FrameKind.Superseded or FrameKind.Resync => new RunResult(RunKind.Ended, opened, frames),
        FrameKind.Kicked => new RunResult(RunKind.Kicked, opened, frames, Message: _kickReason),
        FrameKind.Reconnect => new RunResult(RunKind.UnknownConnection, opened, frames),
        FrameKind.TokenExpired => new RunResult(RunKind.TokenExpired, opened, frames),
        FrameKind.Move => new RunResult(RunKind.Moved, opened, frames, RetryAfter: _moveAfter),
        _ => null,
    };

    internal static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    internal static long Num(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;

    private static IReadOnlyList<string> Strings(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToArray()
            : [];
}
