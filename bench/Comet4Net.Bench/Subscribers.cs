using System.Text.RegularExpressions;

namespace Comet4Net.Bench;

/// <summary>Counts deliveries and keeps latency samples (receive time − the "t" the server put in).</summary>
internal sealed class Meter
{
    private readonly long[] _samples = new long[4_000_000];
    private long _delivered;
    private int _count;
    private long _lastReceive;

    internal long Delivered => Interlocked.Read(ref _delivered);
    internal long LastReceive => Interlocked.Read(ref _lastReceive);

    internal void Record(long sentTicks)
    {
        var now = DateTime.UtcNow.Ticks;
        Interlocked.Increment(ref _delivered);
        var i = Interlocked.Increment(ref _count) - 1;
        if (i < _samples.Length) _samples[i] = now - sentTicks;
        long last;
        while ((last = Interlocked.Read(ref _lastReceive)) < now && Interlocked.CompareExchange(ref _lastReceive, now, last) != last) { }
    }

    internal void Reset()
    {
        Interlocked.Exchange(ref _delivered, 0);
        Interlocked.Exchange(ref _count, 0);
        Interlocked.Exchange(ref _lastReceive, 0);
    }

    /// <summary>Latency percentiles in milliseconds.</summary>
    internal (double P50, double P99, double Max) Latency()
    {
        var n = Math.Min(_count, _samples.Length);
        if (n == 0) return (double.NaN, double.NaN, double.NaN);
        var copy = _samples.AsSpan(0, n).ToArray();
        Array.Sort(copy);
        double Ms(long ticks) => ticks / 10_000.0;
        return (Ms(copy[(int)(n * 0.50)]), Ms(copy[Math.Min(n - 1, (int)(n * 0.99))]), Ms(copy[n - 1]));
    }
}

/// <summary>Finds "t":NUMBER and "seq":NUMBER in a byte stream, across reads, without parsing JSON.</summary>
internal sealed class Scanner(Meter meter)
{
    private static readonly byte[] TMark = "\"t\":"u8.ToArray();
    private static readonly byte[] SeqMark = "\"seq\":"u8.ToArray();
    private int _t, _s;
    private int _reading; // 0 none, 1 t, 2 seq
    private long _acc;
    internal long LastSeq;
    internal long Received; // messages ("t":) this subscriber has seen
    internal long SeqBreaks; // a seq that was not exactly one more than the one before (one channel, broadcasts only: they are consecutive)

    internal void Feed(ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            if (_reading != 0)
            {
                if (b is >= (byte)'0' and <= (byte)'9') { _acc = _acc * 10 + (b - '0'); continue; }
                if (_reading == 1) { meter.Record(_acc); Received++; }
                else
                {
                    if (LastSeq != 0 && _acc != LastSeq + 1) SeqBreaks++;
                    LastSeq = _acc;
                }
                _reading = 0;
            }
            _t = b == TMark[_t] ? _t + 1 : b == TMark[0] ? 1 : 0;
            _s = b == SeqMark[_s] ? _s + 1 : b == SeqMark[0] ? 1 : 0;
            if (_t == TMark.Length) { _reading = 1; _acc = 0; _t = 0; _s = 0; }
            else if (_s == SeqMark.Length) { _reading = 2; _acc = 0; _t = 0; _s = 0; }
        }
    }
}

/// <summary>One subscriber of one server under test; <see cref="RunAsync"/> connects and receives until cancelled.</summary>
internal abstract class Subscriber(int port, Meter meter)
{
    protected readonly int Port = port;
    protected readonly Scanner Scanner = new(meter);
    internal volatile bool Ready;
    internal volatile bool Failed;

    /// <summary>Messages this subscriber has received so far.</summary>
    internal long Received => Volatile.Read(ref Scanner.Received);

    /// <summary>The last seq seen, and how many seqs were not one more than the one before (read once the stream is quiet).</summary>
    internal (long LastSeq, long Breaks) Order => (Volatile.Read(ref Scanner.LastSeq), Volatile.Read(ref Scanner.SeqBreaks));

    internal abstract Task RunAsync(CancellationToken token);

    internal static Subscriber Create(string kind, int port, Meter meter) => kind switch
    {
        "comet-stream" => new CometSubscriber(port, meter, "stream"),
        "comet-lpool" => new CometSubscriber(port, meter, "lpool"),
        "comet-sse" => new CometSseSubscriber(port, meter),
        "comet-websocket" => new CometWebSocketSubscriber(port, meter),
        "signalr-ws" => new SignalRWebSocketSubscriber(port, meter),
        "signalr-sse" => new SignalRSubscriber(port, meter, sse: true),
        "signalr-lpool" => new SignalRSubscriber(port, meter, sse: false),
        "bare" or "bare-conn" => new BareSubscriber(port, meter),
        _ => throw new ArgumentException("unknown server kind " + kind),
    };

    protected static string Field(string json, string name) =>
        Regex.Match(json, "\"" + name + "\":\"?([^\",}]*)").Groups[1].Value;
}

/// <summary>Comet4Net v2: conn, then revivals (stream held open, or long polls) acknowledging the last seq.</summary>
internal sealed class CometSubscriber(int port, Meter meter, string style) : Subscriber(port, meter)
{
    /// <summary>When set, reading waits for it (null in every scenario but --client-cost).</summary>
    internal ManualResetEventSlim? Gate;

    internal override async Task RunAsync(CancellationToken token)
    {
        using var http = await RawHttp.ConnectAsync(Port, token);
        await http.SendAsync("GET", "/conn?cmd=conn&cv=2.0.0&ws=" + style, token: token);
        var (status, body) = await http.ReadTextAsync(token);
        if (status != 200) { Failed = true; return; }
        var cid = Field(body, "cId");
        var cs = Field(body, "cs");
        Scanner.LastSeq = long.Parse(Field(body, "seq"));
        while (!token.IsCancellationRequested)
        {
            await http.SendAsync("GET", $"/conn?cmd=revival&cid={cid}&cs={cs}&ack={Scanner.LastSeq}&ws={style}", token: token);
            if (style == "lpool") Ready = true;
            await http.ReadResponseAsync(span =>
            {
                Gate?.Wait(token); // --client-cost holds the reader while the server queues a backlog
                Scanner.Feed(span);
            }, () => Ready = true, token);
        }
    }
}

/// <summary>Comet4Net SSE in one URL: /conn?cmd=conn&amp;ws=sse.</summary>
internal sealed class CometSseSubscriber(int port, Meter meter) : Subscriber(port, meter)
{
    internal override async Task RunAsync(CancellationToken token)
    {
        using var http = await RawHttp.ConnectAsync(Port, token);
        await http.SendAsync("GET", "/conn?cmd=conn&ws=sse", extraHeaders: "Accept: text/event-stream\r\n", token: token);
        await http.ReadResponseAsync(span => Scanner.Feed(span), () => Ready = true, token);
    }
}

/// <summary>
/// SignalR's own protocol, spoken raw: POST negotiate, open the transport (an SSE stream, or long
/// polls), POST the JSON hub protocol handshake, then read invocation messages.
/// </summary>
internal sealed class SignalRSubscriber(int port, Meter meter, bool sse) : Subscriber(port, meter)
{
    internal override async Task RunAsync(CancellationToken token)
    {
        if (await NegotiateAsync(Port, token) is not { } token_) { Failed = true; return; }
        using var transport = await RawHttp.ConnectAsync(Port, token);
        if (sse)
        {
            await transport.SendAsync("GET", "/hub?id=" + token_, extraHeaders: "Accept: text/event-stream\r\n", token: token);
            var stream = transport.ReadResponseAsync(span => Scanner.Feed(span), null, token);
            await HandshakeAsync(token_, token);
            Ready = true;
            await stream;
        }
        else
        {
            await HandshakeAsync(token_, token);
            Ready = true;
            while (!token.IsCancellationRequested)
            {
                await transport.SendAsync("GET", "/hub?id=" + token_, token: token);
                var status = await transport.ReadResponseAsync(span => Scanner.Feed(span), null, token);
                if (status == 204 || status >= 400) { Failed = true; return; }
            }
        }
    }

    /// <summary>POST negotiate: the connection token (escaped for a URL), or null if the server said no.</summary>
    internal static async Task<string?> NegotiateAsync(int port, CancellationToken token)
    {
        using var negotiate = await RawHttp.ConnectAsync(port, token);
        await negotiate.SendAsync("POST", "/hub/negotiate?negotiateVersion=1", "", token: token);
        var (status, body) = await negotiate.ReadTextAsync(token);
        return status == 200 ? Uri.EscapeDataString(Field(body, "connectionToken")) : null;
    }

    private async Task HandshakeAsync(string id, CancellationToken token)
    {
        using var post = await RawHttp.ConnectAsync(Port, token);
        await post.SendAsync("POST", "/hub?id=" + id, "{\"protocol\":\"json\",\"version\":1}\u001e",
            "Content-Type: text/plain;charset=UTF-8\r\n", token);
        await post.ReadTextAsync(token);
    }
}

/// <summary>Reads a WebSocket's messages into the scanner until it closes.</summary>
internal static class Sockets
{
    internal static async Task ReadAsync(System.Net.WebSockets.ClientWebSocket socket, Scanner scanner, CancellationToken token)
    {
        var buffer = new byte[16384];
        while (!token.IsCancellationRequested && socket.State == System.Net.WebSockets.WebSocketState.Open)
        {
            var result = await socket.ReceiveAsync(buffer, token);
            if (result.MessageType == System.Net.WebSockets.WebSocketMessageType.Close) return;
            scanner.Feed(buffer.AsSpan(0, result.Count));
        }
    }
}

/// <summary>Comet4Net's websocket style: conn over HTTP, then the revival URL upgraded.</summary>
internal sealed class CometWebSocketSubscriber(int port, Meter meter) : Subscriber(port, meter)
{
    internal override async Task RunAsync(CancellationToken token)
    {
        string cid, cs;
        using (var http = await RawHttp.ConnectAsync(Port, token))
        {
            await http.SendAsync("GET", "/conn?cmd=conn&cv=2.0.0&ws=websocket", token: token);
            var (status, body) = await http.ReadTextAsync(token);
            if (status != 200) { Failed = true; return; }
            cid = Field(body, "cId");
            cs = Field(body, "cs");
            Scanner.LastSeq = long.Parse(Field(body, "seq"));
        }
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{Port}/conn?cmd=revival&cid={cid}&cs={cs}&ack={Scanner.LastSeq}&ws=websocket"), token);
        Ready = true;
        await Sockets.ReadAsync(socket, Scanner, token);
    }
}

/// <summary>SignalR over WebSockets: negotiate, the socket, the JSON hub protocol handshake, then invocations.</summary>
internal sealed class SignalRWebSocketSubscriber(int port, Meter meter) : Subscriber(port, meter)
{
    internal override async Task RunAsync(CancellationToken token)
    {
        if (await SignalRSubscriber.NegotiateAsync(Port, token) is not { } id) { Failed = true; return; }
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{Port}/hub?id={id}"), token);
        await socket.SendAsync("{\"protocol\":\"json\",\"version\":1}\u001e"u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, token);
        Ready = true;
        await Sockets.ReadAsync(socket, Scanner, token);
    }
}

/// <summary>The bare loop: one held-open chunked answer.</summary>
internal sealed class BareSubscriber(int port, Meter meter) : Subscriber(port, meter)
{
    internal override async Task RunAsync(CancellationToken token)
    {
        using var http = await RawHttp.ConnectAsync(Port, token);
        await http.SendAsync("GET", "/bare", token: token);
        await http.ReadResponseAsync(span => Scanner.Feed(span), () => Ready = true, token);
    }
}
