using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Comet4Net.Client.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Comet4Net.Client;

/// <summary>
/// A Comet4Net client for .NET programs, with the page client's guarantee: every message meant for it
/// arrives exactly once and in order, across cut connections, outages, restarts and node changes (within
/// the server's resume window), or a <see cref="Gap"/> says which were lost. Handlers run one message at a
/// time, in order; a message counts as processed (and is acknowledged) when its handlers have returned.
/// </summary>
/// <example>
/// <code>
/// await using var client = new CometClient(new Uri("https://example.com/conn"));
/// client.On&lt;Tick&gt;("ticks", (tick, ct) =&gt; { Console.WriteLine(tick.N); return ValueTask.CompletedTask; });
/// await client.StartAsync(ct);
/// </code>
/// </example>
public sealed class CometClient : IAsyncDisposable, IConnectorHost
{
    /// <summary>The JSON options the client deserialises data and serialises published data with (web defaults).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web);

    private readonly CometClientOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ILogger _logger;
    private readonly Connector _connector;
    private readonly object _sync = new();
    private readonly HashSet<string> _channels = new(StringComparer.Ordinal);
    private Dictionary<string, Func<CometMessage, CancellationToken, ValueTask>[]> _handlers = new(StringComparer.Ordinal);
    private Channel<CometMessage>? _reader;
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile TaskCompletionSource<Session> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _stopped;

    /// <summary>A client of the <c>/conn</c> endpoint at <paramref name="endpoint"/>.</summary>
    /// <param name="endpoint">The endpoint's absolute http(s) URL, for example <c>https://example.com/conn</c>.</param>
    /// <param name="options">How to connect; defaults if null.</param>
    /// <param name="httpClient">An <see cref="HttpClient"/> to send with (from IHttpClientFactory, say); the client makes its own if null. Its <c>Timeout</c> should be infinite or longer than the server's timeout.</param>
    /// <param name="logger">Where the client logs; nothing if null.</param>
    public CometClient(Uri endpoint, CometClientOptions? options = null, HttpClient? httpClient = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException("The endpoint must be an absolute http or https URL.", nameof(endpoint));
        _options = options ?? new CometClientOptions();
        _options.Validate();
        _logger = logger ?? NullLogger.Instance;
        if (httpClient is null)
        {
            var handler = new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                UseCookies = _options.Cookies is not null,
                AutomaticDecompression = DecompressionMethods.None,
            };
            if (_options.Cookies is { } cookies) handler.CookieContainer = cookies;
            _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
            _ownsHttp = true;
        }
        else _http = httpClient;
        foreach (var channel in _options.Channels) _channels.Add(channel);
        _connector = new Connector(endpoint, _http, _options, this, _logger);
    }

    /// <summary>Where the client is (connecting, open, waiting to retry, stopped).</summary>
    public CometClientState State => _connector.State;

    /// <summary>The connection id, once the server gave one.</summary>
    public string? ConnectionId => _connector.Session?.ConnectionId;

    /// <summary>The transport in use.</summary>
    public CometTransport? Transport => _connector.Transport;

    /// <summary>The sequence number of the last message processed (what the client acknowledges).</summary>
    public long LastSequence => _connector.LastSeq;

    /// <summary>The client has a connection (at start, and again after the server forgot the previous one).</summary>
    public event EventHandler<CometStartedEventArgs>? Started;

    /// <summary>The client stopped for good (StopAsync, kicked, refused).</summary>
    public event EventHandler<CometStoppedEventArgs>? Stopped;

    /// <summary>Messages meant for this client were lost (see <see cref="CometGapEventArgs"/>).</summary>
    public event EventHandler<CometGapEventArgs>? Gap;

    /// <summary>The client moved to another transport.</summary>
    public event EventHandler<CometTransportChangedEventArgs>? TransportChanged;

    /// <summary>The connector's state changed.</summary>
    public event EventHandler<CometClientState>? StateChanged;

    /// <summary>
    /// Handles the messages of <paramref name="name"/>: a channel, or <c>channel.event</c> for an event within a
    /// channel. Registered before <see cref="StartAsync"/>, it also names the channel in <c>sub</c>. Dispose the
    /// result to remove the handler.
    /// </summary>
    public IDisposable On(string name, Func<CometMessage, CancellationToken, ValueTask> handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(handler);
        lock (_sync)
        {
            var copy = new Dictionary<string, Func<CometMessage, CancellationToken, ValueTask>[]>(_handlers, StringComparer.Ordinal);
            copy[name] = [.. copy.GetValueOrDefault(name) ?? [], handler];
            _handlers = copy;
            if (_loop is null)
            {
                var dot = name.LastIndexOf('.');
                _channels.Add(dot > 0 ? name[..dot] : name);
            }
        }
        return new Registration(this, name, handler);
    }

    /// <summary>Handles the messages of <paramref name="name"/> with their data deserialised as <typeparamref name="T"/>.</summary>
    public IDisposable On<T>(string name, Func<T?, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return On(name, (message, ct) => handler(message.GetData<T>(), ct));
    }

    /// <summary>Handles the messages of <paramref name="name"/> synchronously.</summary>
    public IDisposable On(string name, Action<CometMessage> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return On(name, (message, _) =>
        {
            handler(message);
            return ValueTask.CompletedTask;
        });
    }

    private void Remove(string name, Func<CometMessage, CancellationToken, ValueTask> handler)
    {
        lock (_sync)
        {
            if (!_handlers.TryGetValue(name, out var list)) return;
            var copy = new Dictionary<string, Func<CometMessage, CancellationToken, ValueTask>[]>(_handlers, StringComparer.Ordinal);
            var rest = list.Where(h => h != handler).ToArray();
            if (rest.Length == 0) copy.Remove(name);
            else copy[name] = rest;
            _handlers = copy;
        }
    }

    /// <summary>
    /// Every message, in order, for pull-style code. The call (not the first iteration) creates a buffer of
    /// <see cref="CometClientOptions.MessageBufferCapacity"/> messages, so calling it before
    /// <see cref="StartAsync"/> misses none; when the buffer is full the client waits for its reader, so
    /// nothing is dropped. Ends when the client stops; leaving the loop early closes the buffer (the
    /// handlers go on). One reader at a time.
    /// </summary>
    public IAsyncEnumerable<CometMessage> ReadAllAsync(CancellationToken cancellationToken = default)
    {
        Channel<CometMessage> reader;
        lock (_sync)
        {
            reader = _reader ??= Channel.CreateBounded<CometMessage>(new BoundedChannelOptions(_options.MessageBufferCapacity)
            {
                SingleWriter = true,
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait,
                AllowSynchronousContinuations = false,
            });
            if (_stopped == 1) reader.Writer.TryComplete();
        }
        return ReadAsync(reader, cancellationToken);
    }

    private async IAsyncEnumerable<CometMessage> ReadAsync(Channel<CometMessage> reader, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var message in reader.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false)) yield return message;
        }
        finally
        {
            // Nobody reads it any more: a full buffer must not hold the client.
            lock (_sync)
            {
                if (_reader == reader) _reader = null;
            }
            reader.Writer.TryComplete();
        }
    }

    /// <summary>
    /// Starts the client and returns once the server gave it a connection (retrying with backoff until then).
    /// Throws <see cref="CometClientException"/> if the server refuses it; if <paramref name="cancellationToken"/>
    /// fires first, the client stops and the call throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_stopped == 1, this);
            if (_loop is not null) throw new InvalidOperationException("The client was already started.");
            _stop = new CancellationTokenSource();
            _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        }
        try
        {
            await _started.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private async Task RunAsync(CancellationToken stop)
    {
        CometStopReason reason;
        string? message;
        try
        {
            (reason, message) = await _connector.RunAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return; // StopAsync ends the client
        }
        catch (Exception e)
        {
            Log.Stopped(_logger, CometStopReason.Refused, e.Message);
            (reason, message) = (CometStopReason.Refused, e.Message);
        }
        End(reason, message);
    }

    /// <summary>
    /// Stops the client: ends its transport, tells the server (<c>cmd=drop</c>, so the server forgets the
    /// connection at once) and completes <see cref="ReadAllAsync"/>. A stopped client does not start again.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        Task? loop;
        lock (_sync)
        {
            loop = _loop;
            _stop?.Cancel();
        }
        if (loop is not null)
        {
            try
            {
                await loop.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
        }
        if (Volatile.Read(ref _stopped) == 1) return;
        if (_connector.Session is { } session)
        {
            try
            {
                using var drop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                drop.CancelAfter(TimeSpan.FromSeconds(5));
                using var request = await _connector.NewRequestAsync(HttpMethod.Get,
                    [("cmd", "drop"), ("cid", session.ConnectionId), ("cs", session.Secret)], drop.Token).ConfigureAwait(false);
                using var response = await _http.SendAsync(request, drop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
            {
                // The server forgets the connection by itself after its resume window.
            }
        }
        End(CometStopReason.Stopped, null);
    }

    private void End(CometStopReason reason, string? message)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        _connector.SetState(CometClientState.Stopped);
        lock (_sync) _reader?.Writer.TryComplete();
        if (reason != CometStopReason.Stopped) Log.Stopped(_logger, reason, message);
        var exception = new CometClientException(reason, message ?? reason.ToString());
        _started.TrySetException(exception);
        _connected.TrySetException(exception);
        Raise(Stopped, new CometStoppedEventArgs(reason, message, _connector.Session?.ConnectionId));
    }

    /// <summary>
    /// Listens on <paramref name="channel"/> (<c>cmd=sub</c>); with <paramref name="history"/> &gt; 0, returns up to
    /// that many of the channel's kept messages, oldest first (not dispatched to handlers). Before
    /// <see cref="StartAsync"/> it only names the channel for connect. Throws <see cref="CometCommandException"/>
    /// (<see cref="CometCommandException.IsRefused"/>) if the server's subscribe listeners say no. The channel is
    /// named again whenever the client has to connect anew.
    /// </summary>
    public async Task<IReadOnlyList<CometMessage>> SubscribeAsync(string channel, int history = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        lock (_sync)
        {
            _channels.Add(channel);
            if (_loop is null) return [];
        }
        var query = new List<(string, string?)> { ("cmd", "sub"), ("channel", channel) };
        if (history > 0) query.Add(("history", history.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        string body;
        try
        {
            body = await CommandAsync(query, null, cancellationToken).ConfigureAwait(false);
        }
        catch (CometCommandException e) when (e.IsRefused)
        {
            lock (_sync) _channels.Remove(channel);
            throw;
        }
        var messages = new List<CometMessage>();
        foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var name = Connector.Str(root, "channel");
            if (name is null || name == "c4j") continue;
            long? seq = root.TryGetProperty("seq", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : null;
            messages.Add(new CometMessage(seq, name, Connector.Str(root, "event"), root.TryGetProperty("data", out var d) ? d.Clone() : default,
                Connector.Num(root, "time"), Connector.Str(root, "from"), true));
        }
        return messages;
    }

    /// <summary>Stops listening on <paramref name="channel"/> (<c>cmd=unsub</c>).</summary>
    public async Task UnsubscribeAsync(string channel, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        lock (_sync)
        {
            _channels.Remove(channel);
            if (_loop is null) return;
        }
        await CommandAsync([("cmd", "unsub"), ("channel", channel)], null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Publishes <paramref name="data"/> (serialised with <see cref="JsonOptions"/>) on a channel the server opened
    /// to clients (<c>cmd=pub</c>), exactly once: with a new idempotency key, sent again with it until the server
    /// answers (see <see cref="PublishAsync(string, object?, string?, string?, CancellationToken)"/>). Throws
    /// <see cref="CometCommandException"/> if the server refuses.
    /// </summary>
    public Task<CometPublishResult> PublishAsync(string channel, object? data, string? eventName = null, CancellationToken cancellationToken = default) =>
        PublishAsync(channel, data, eventName, null, cancellationToken);

    /// <summary>
    /// Publishes exactly once with the idempotency key <paramref name="idempotencyKey"/> (1 to 64 characters of
    /// A-Z a-z 0-9 - _ . :; null: a new random one). A publish whose answer is lost (a cut, a timeout, a 5xx, the
    /// connection lost and made anew) is sent again with the same key, with backoff, until the server answers;
    /// the server appends a key once within its window and answers a repeat with the first one's number
    /// (<see cref="CometPublishResult.Duplicate"/>). Ends with <see cref="CometCommandException"/> when the server
    /// refuses (400, 403, 413), <see cref="CometClientException"/> when the client stops, or on cancellation.
    /// </summary>
    public async Task<CometPublishResult> PublishAsync(string channel, object? data, string? eventName, string? idempotencyKey, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        var json = JsonSerializer.Serialize(data, JsonOptions);
        var key = idempotencyKey ?? Convert.ToBase64String(Guid.NewGuid().ToByteArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var form = new List<(string, string?)> { ("cmd", "pub"), ("channel", channel), ("event", eventName), ("data", json), ("idem", key) };
        var body = await CommandAsync([], form, cancellationToken, untilAnswered: true).ConfigureAwait(false);
        using var doc = JsonDocument.Parse(body);
        var duplicate = doc.RootElement.TryGetProperty("dup", out var dup) && dup.ValueKind == JsonValueKind.True;
        return new CometPublishResult(Connector.Num(doc.RootElement, "seq"), (int)Connector.Num(doc.RootElement, "delivered"), duplicate);
    }

    /// <summary>How many connections and users listen on <paramref name="channel"/> (<c>cmd=count</c>, where the server allows it).</summary>
    public async Task<CometChannelCount> CountAsync(string channel, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        var body = await CommandAsync([("cmd", "count"), ("channel", channel)], null, cancellationToken).ConfigureAwait(false);
        using var doc = JsonDocument.Parse(body);
        return new CometChannelCount(channel, (int)Connector.Num(doc.RootElement, "connections"), (int)Connector.Num(doc.RootElement, "users"));
    }

    /// <summary>
    /// A channel command for the connection (over HTTP, whatever the transport), once there is one; retried
    /// with backoff when the network fails, up to <see cref="CometClientOptions.CommandAttempts"/> times.
    /// </summary>
    private async Task<string> CommandAsync(List<(string, string?)> query, List<(string, string?)>? form, CancellationToken cancellationToken, bool untilAnswered = false)
    {
        if (_loop is null) throw new InvalidOperationException("Start the client first.");
        for (var attempt = 0; ; attempt++)
        {
            var session = await _connected.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            var auth = new List<(string, string?)>(query) { ("cid", session.ConnectionId), ("cs", session.Secret) };
            int status;
            string body;
            TimeSpan? retryAfter = null;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(_options.OpenTimeout);
                using var request = await _connector.NewRequestAsync(form is null ? HttpMethod.Get : HttpMethod.Post, auth, timeout.Token).ConfigureAwait(false);
                if (form is not null)
                    request.Content = new FormUrlEncodedContent(form.Where(p => p.Item2 is not null).Select(p => new KeyValuePair<string, string>(p.Item1, p.Item2!)));
                using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
                status = (int)response.StatusCode;
                body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                retryAfter = Connector.RetryAfter(response.Headers.RetryAfter);
                if (status == 200) return body;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                status = 0;
                body = e.Message;
            }
            var (error, message, _) = Connector.ErrorOf(body);
            var retryable = status is 0 or 404 or 408 or 429 or >= 500;
            if (!retryable || !untilAnswered && attempt + 1 >= _options.CommandAttempts)
                throw new CometCommandException(status, error, message ?? (status == 0 ? "the network failed: " + body : $"HTTP {status}"));
            var delay = retryAfter ?? Backoff.Delay(attempt, _options.RetryBase, _options.RetryMax, session.Resume, Random.Shared.NextDouble());
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    IReadOnlyCollection<string>? IConnectorHost.ChannelsToName()
    {
        lock (_sync) return _channels.Count == 0 ? null : _channels.ToArray();
    }

    async ValueTask IConnectorHost.DispatchAsync(CometMessage message, CancellationToken cancellationToken)
    {
        if (_handlers.TryGetValue(message.Name, out var handlers))
        {
            foreach (var handler in handlers)
            {
                try
                {
                    await handler(message, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    Log.HandlerFailed(_logger, message.Name, e);
                }
            }
        }
        Channel<CometMessage>? reader;
        lock (_sync) reader = _reader;
        if (reader is not null)
        {
            try
            {
                await reader.Writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
            }
        }
    }

    void IConnectorHost.Started(Session session, CometTransport transport)
    {
        lock (_sync) foreach (var refused in session.Refused) _channels.Remove(refused);
        var old = _connected;
        if (old.Task.IsCompleted) _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _connected.TrySetResult(session);
        Raise(Started, new CometStartedEventArgs(session.ConnectionId, session.Channels, session.Refused, transport));
        _started.TrySetResult();
    }

    void IConnectorHost.Gap(long from, long? to, string reason)
    {
        Log.Gap(_logger, from, to, reason);
        if (reason == "reset" && _connected.Task.IsCompletedSuccessfully) _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Raise(Gap, new CometGapEventArgs(from, to, reason));
    }

    void IConnectorHost.TransportChanged(CometTransport? previous, CometTransport current, string reason) =>
        Raise(TransportChanged, new CometTransportChangedEventArgs(previous, current, reason));

    void IConnectorHost.StateChanged(CometClientState state) => Raise(StateChanged, state);

    private void Raise<T>(EventHandler<T>? handler, T args)
    {
        if (handler is null) return;
        try
        {
            handler(this, args);
        }
        catch (Exception e)
        {
            Log.HandlerFailed(_logger, typeof(T).Name, e);
        }
    }

    /// <summary>Stops the client (see <see cref="StopAsync"/>) and releases the <see cref="HttpClient"/> it made.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stop?.Dispose();
        if (_ownsHttp) _http.Dispose();
    }

    private sealed class Registration(CometClient client, string name, Func<CometMessage, CancellationToken, ValueTask> handler) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) client.Remove(name, handler);
        }
    }
}

/// <summary>
/// What the server answered a publish: the message's sequence number and how many connections receive its channel;
/// <paramref name="Duplicate"/>: the server had appended this key already (an answer that was lost), <paramref name="Seq"/> is that
/// first message's and <paramref name="Delivered"/> 0.
/// </summary>
public sealed record CometPublishResult(long Seq, int Delivered, bool Duplicate = false);

/// <summary>How many connections and users listen on a channel.</summary>
public sealed record CometChannelCount(string Channel, int Connections, int Users);

/// <summary>The client stopped (refused, kicked, or stopped) before it could do what was asked.</summary>
public sealed class CometClientException(CometStopReason reason, string message) : Exception(message)
{
    /// <summary>Why the client stopped.</summary>
    public CometStopReason Reason { get; } = reason;
}
