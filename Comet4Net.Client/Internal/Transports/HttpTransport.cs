namespace Comet4Net.Client.Internal.Transports;

/// <summary>
/// The HTTP transports (stream, SSE, long polling): a revival GET whose answer is read as it arrives, a
/// line at a time, with a silence watch. Subclasses say how long the answer may be silent and how its
/// lines become frames.
/// </summary>
internal abstract class HttpTransport : ITransport
{
    protected abstract CometTransport Kind { get; }

    /// <summary>
    /// How long the answer's headers may take (a long poll's are held until something arrives). A stream
    /// that never worked on this path gets the probe's time: a buffering proxy holds the headers too.
    /// </summary>
    protected virtual TimeSpan OpenDeadline(Connector connector) =>
        FirstSilenceIsNotCarried && !connector.HasWorked(Kind) && connector.Options.StreamProbeTimeout < connector.Options.OpenTimeout
            ? connector.Options.StreamProbeTimeout
            : connector.Options.OpenTimeout;

    /// <summary>How long the answer may bring nothing before its first byte, and after it.</summary>
    protected abstract (TimeSpan First, TimeSpan Then) Silence(Connector connector);

    /// <summary>A silence before the first byte means the path does not carry this transport (a buffering proxy).</summary>
    protected virtual bool FirstSilenceIsNotCarried => false;

    /// <summary>Turns one line of the answer into zero or one frame lines (NDJSON: itself; SSE: an event's data at its end).</summary>
    protected virtual string? FrameOf(string line) => line;

    protected virtual void AddHeaders(HttpRequestMessage request, Connector connector)
    {
    }

    public async Task<RunResult> RunAsync(Connector connector, CancellationToken stop)
    {
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(stop);
        watch.CancelAfter(OpenDeadline(connector));
        HttpResponseMessage response;
        try
        {
            using var request = await connector.NewRequestAsync(HttpMethod.Get, connector.RevivalQuery(Kind), watch.Token).ConfigureAwait(false);
            AddHeaders(request, connector);
            response = await connector.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, watch.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            // Nothing at all from a stream that never worked here: a buffering proxy (as the page client decides).
            return FirstSilenceIsNotCarried && !connector.HasWorked(Kind)
                ? new(RunKind.NotCarried, Message: "no answer within the probe's time")
                : new(RunKind.NetworkFailure, Message: "open timed out");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException)
        {
            return new(RunKind.NetworkFailure, Message: e.Message);
        }
        using (response)
        {
            if ((int)response.StatusCode != 200)
            {
                string body;
                try
                {
                    body = await response.Content.ReadAsStringAsync(watch.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException
                                          || (e is OperationCanceledException && !stop.IsCancellationRequested))
                {
                    body = "";
                }
                return OnStatus(response, body);
            }
            connector.Opened(Kind);
            var (first, then) = Silence(connector);
            watch.CancelAfter(first);
            var frames = 0;
            var gotBytes = false;
            var lines = new List<string>();
            var splitter = new LineSplitter();
            var buffer = new byte[16384];
            try
            {
                await using var body = await response.Content.ReadAsStreamAsync(watch.Token).ConfigureAwait(false);
                while (true)
                {
                    var n = await body.ReadAsync(buffer, watch.Token).ConfigureAwait(false);
                    if (n == 0) return gotBytes ? new(RunKind.Ended, true, frames) : new(RunKind.NetworkFailure, true, frames, Message: "empty answer");
                    gotBytes = true;
                    watch.CancelAfter(then);
                    lines.Clear();
                    splitter.Push(buffer.AsSpan(0, n), lines);
                    foreach (var line in lines)
                    {
                        if (FrameOf(line) is not { } frame) continue;
                        var kind = await connector.HandleLineAsync(frame, stop).ConfigureAwait(false);
                        if (kind != FrameKind.Invalid) frames++;
                        if (connector.After(kind, true, frames) is { } end) return end;
                    }
                    watch.CancelAfter(then);
                }
            }
            catch (OperationCanceledException) when (!stop.IsCancellationRequested)
            {
                if (!gotBytes && FirstSilenceIsNotCarried) return new(RunKind.NotCarried, true, frames, Message: "no byte");
                return new(RunKind.NetworkFailure, true, frames, Message: "silent past the heartbeat");
            }
            catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException)
            {
                return new(RunKind.NetworkFailure, true, frames, Message: e.Message);
            }
        }
    }

    protected virtual RunResult OnStatus(HttpResponseMessage response, string body) => Connector.FromStatus(response, body);
}

/// <summary><c>ws=stream</c>: one chunked NDJSON answer; a heartbeat at least every <c>heartbeat</c> ms.</summary>
internal sealed class StreamTransport : HttpTransport
{
    protected override CometTransport Kind => CometTransport.Stream;

    protected override bool FirstSilenceIsNotCarried => true;

    protected override (TimeSpan First, TimeSpan Then) Silence(Connector connector) => (connector.Options.StreamProbeTimeout, connector.Silence);
}

/// <summary><c>ws=lpool</c>: one answer per request, held until something arrives or the server's timeout.</summary>
internal sealed class LongPollTransport : HttpTransport
{
    protected override CometTransport Kind => CometTransport.LongPolling;

    private static TimeSpan Held(Connector connector) => (connector.Session?.Timeout ?? TimeSpan.FromSeconds(60)) + connector.Options.OpenTimeout;

    protected override TimeSpan OpenDeadline(Connector connector) => Held(connector);

    protected override (TimeSpan First, TimeSpan Then) Silence(Connector connector) => (Held(connector), Held(connector));
}

/// <summary>
/// <c>ws=sse</c>: <c>text/event-stream</c> read by the client (no EventSource: its position is the
/// connector's), unnamed events (<c>names=0</c>) whose data is the whole v2 frame.
/// </summary>
internal sealed class SseTransport : HttpTransport
{
    private readonly System.Text.StringBuilder _data = new();
    private bool _hasData;

    protected override CometTransport Kind => CometTransport.Sse;

    protected override bool FirstSilenceIsNotCarried => true;

    protected override (TimeSpan First, TimeSpan Then) Silence(Connector connector) => (connector.Options.StreamProbeTimeout, connector.Silence);

    protected override void AddHeaders(HttpRequestMessage request, Connector connector)
    {
        _data.Clear();
        _hasData = false;
        request.Headers.TryAddWithoutValidation("Accept", "text/event-stream");
        request.Headers.TryAddWithoutValidation("Last-Event-ID", connector.LastSeq.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    protected override string? FrameOf(string line)
    {
        if (line.Length == 0)
        {
            if (!_hasData) return null;
            var frame = _data.ToString();
            _data.Clear();
            _hasData = false;
            return frame;
        }
        if (line.StartsWith("data:", StringComparison.Ordinal))
        {
            var value = line.AsSpan(line.Length > 5 && line[5] == ' ' ? 6 : 5);
            if (_hasData) _data.Append('\n');
            _data.Append(value);
            _hasData = true;
        }
        return null; // id:, event:, retry:, and ": hb" comments carry nothing the frame does not
    }

    /// <summary>An SSE revival answers 204 when the connection was kicked (and when superseded): a long poll says which.</summary>
    protected override RunResult OnStatus(HttpResponseMessage response, string body) =>
        (int)response.StatusCode == 204 ? new(RunKind.AskByPolling) : Connector.FromStatus(response, body);
}
