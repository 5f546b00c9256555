using System.Collections.Concurrent;
using Comet4Net.Connections;
using Comet4Net.Delivery;

namespace Comet4Net;

/// <summary>
/// One client of the engine: a cursor into the shared message log plus a small queue of the
/// messages sent to it alone. It outlives its HTTP requests: between them it is "dying" and keeps
/// what is sent to it until <c>ConnExpires</c>.
/// </summary>
public sealed class CometConnection
{
    private readonly object _sync = new();
    private Attachment? _attachment;
    private long _dyingSince; // timestamp (TimeProvider) when the last request ended
    private int _state = (int)ConnectionState.Dying;
    private int _workStyle;

    internal CometConnection(CometEngine engine, string id, string secret, CometDialect dialect, CometWorkStyle workStyle,
        string clientVersion, ICometRequest request, long startSeq, long logPosition, long now)
    {
        Engine = engine;
        Id = id;
        Secret = secret;
        Dialect = dialect;
        _workStyle = (int)workStyle;
        ClientVersion = clientVersion;
        Request = request;
        ClientIp = request.ClientIp;
        StartSeq = startSeq;
        LegacyCursor = new ReadCursor(logPosition, startSeq);
        _dyingSince = now;
        ConnectedAt = engine.Time.GetUtcNow();
        Delta = DeltaState.For(dialect, request);
    }

    /// <summary>What the client holds of the delta channels, if it asked for deltas; null otherwise.</summary>
    internal DeltaState? Delta { get; }

    /// <summary>The engine that holds the connection.</summary>
    public CometEngine Engine { get; }

    /// <summary>The connection id: 128 random bits, base64url (22 characters).</summary>
    public string Id { get; }

    /// <summary>The client's IP address when it connected.</summary>
    public string ClientIp { get; }

    /// <summary>The client version sent with <c>cmd=conn</c> (<c>0.1.7</c> for Comet4J's client).</summary>
    public string ClientVersion { get; }

    /// <summary>Which dialect the client speaks; fixed for the connection's life.</summary>
    public CometDialect Dialect { get; }

    /// <summary><c>stream</c>, <c>lpool</c> or <c>sse</c>. A v2 client may switch (a stream falling back to long polling).</summary>
    public string WorkStyle => WorkStyles.Name(Style);

    /// <summary>The work style as a value of the closed set.</summary>
    public CometWorkStyle Style
    {
        get => (CometWorkStyle)Volatile.Read(ref _workStyle);
        internal set => Volatile.Write(ref _workStyle, (int)value);
    }

    /// <summary>Alive while a request is attached, Dying between requests, Dropped once removed.</summary>
    public ConnectionState State => (ConnectionState)Volatile.Read(ref _state);

    /// <summary>The <c>conn</c> request as copied when it came: its query (with the page's own parameters), cookies, headers and user.</summary>
    public ICometRequest Request { get; }

    /// <summary>The host's object for the request attached now (an <c>HttpContext</c>), or null while dying.</summary>
    public object? CurrentRequest => Volatile.Read(ref _attachment)?.Native;

    /// <summary>When the connection was opened.</summary>
    public DateTimeOffset ConnectedAt { get; }

    private string? _userId;

    /// <summary>
    /// The user the connection belongs to: set by the token check, or by a before-connect listener.
    /// <see cref="CometEngine.SendToUser"/> and presence follow it.
    /// </summary>
    public string? UserId
    {
        get => Volatile.Read(ref _userId);
        set
        {
            Volatile.Write(ref _userId, value);
            // Reads the value again under the user lock: however concurrent sets interleave, the last
            // one to move the connection leaves it indexed under the value that is set now, and only there.
            Engine.Lifecycle.Users.SyncUser(this);
        }
    }

    /// <summary>Held while the connection moves between users in the index, the backplane and the channel counts.</summary>
    internal object UserSync => Volatile.Read(ref _userSync) ?? Interlocked.CompareExchange(ref _userSync, new object(), null) ?? _userSync;

    private object? _userSync; // made on first use: most connections never move between users

    /// <summary>The user the connection is indexed under now (null: none); read and written under <see cref="UserSync"/>.</summary>
    internal string? IndexedUser { get; set; }

    /// <summary>Why the connection ended, once <see cref="State"/> is Dropped.</summary>
    public Events.DropReason? DropReason { get; private set; }

    /// <summary>The reason given to <see cref="CometEngine.Kick(CometConnection, string?)"/>, if any.</summary>
    public string? DropMessage { get; private set; }

    internal bool Registered { get; set; }

    /// <summary>When the v2 connection's signed token expires (unix milliseconds; 0: no token, or legacy); moved by a refresh (<see cref="Connections.TokenExpiry"/>).</summary>
    internal long TokenExpires;

    /// <summary>The channels a v2 client listens on, each with the sequence number its subscription starts after; null: every channel.</summary>
    internal Channels.ChannelStarts? Subscriptions { get; set; }

    /// <summary>The channels the connection receives: null means every channel (legacy clients, v2 clients that did not say).</summary>
    public IReadOnlyCollection<string>? SubscribedChannels => Subscriptions?.Keys.ToArray();

    /// <summary>True if a broadcast on <paramref name="channel"/> with number <paramref name="seq"/> is for this connection.</summary>
    internal bool Receives(string channel, long seq)
    {
        var subscriptions = Subscriptions;
        return subscriptions is null
            ? Engine.Access.AllowsImplicit(this, channel)
            : subscriptions.TryGetValue(channel, out var after) && seq > after;
    }

    private ConcurrentDictionary<string, bool>? _implicit;

    /// <summary>For a connection that named no channel: the subscribe listeners' answer per channel, asked once.</summary>
    internal ConcurrentDictionary<string, bool> ImplicitChannels =>
        Volatile.Read(ref _implicit) ?? Interlocked.CompareExchange(ref _implicit, new(StringComparer.Ordinal), null) ?? _implicit!;

    private ConcurrentDictionary<string, object?>? _items;

    /// <summary>The application's own values for this connection (made on first use).</summary>
    public ConcurrentDictionary<string, object?> Items =>
        Volatile.Read(ref _items) ?? Interlocked.CompareExchange(ref _items, new(StringComparer.Ordinal), null) ?? _items!;

    /// <summary>Comet4J's getter for <see cref="Id"/>.</summary>
    public string GetId() => Id;

    internal string Secret { get; }

    /// <summary>Messages with a sequence number above this are for the connection.</summary>
    internal long StartSeq { get; }

    internal PendingQueue Pending { get; } = new();

    private object? _waker; // an Action or an IRequestWaker
    private long _privateVersion;

    /// <summary>Grows by one whenever a private message arrives or the connection is dropped.</summary>
    internal long PrivateVersion => Interlocked.Read(ref _privateVersion);

    /// <summary>The attached request's wake-up, called when a private message arrives (no task per connection to leak continuations on).</summary>
    internal void SetWaker(Action waker) => Volatile.Write(ref _waker, waker);

    internal void SetWaker(Hosting.IRequestWaker waker) => Volatile.Write(ref _waker, waker);

    internal void ClearWaker(Action waker) => Interlocked.CompareExchange(ref _waker, null, waker);

    internal void ClearWaker(Hosting.IRequestWaker waker) => Interlocked.CompareExchange(ref _waker, null, waker);

    /// <summary>Tells the attached request, if any, that something is there for this connection alone.</summary>
    internal void WakePrivate()
    {
        Interlocked.Increment(ref _privateVersion);
        Connections.Attachment.Run(Volatile.Read(ref _waker));
    }

    /// <summary>Where a legacy connection is in the log (it cannot tell us, so the server keeps it).</summary>
    internal ReadCursor LegacyCursor;

    internal object Sync => _sync;

    internal long DyingSince => Interlocked.Read(ref _dyingSince);

    /// <summary>Attaches a request; the one attached before (if any) is superseded and told so.</summary>
    internal Attachment Attach(object? native, out bool revived)
    {
        var attachment = new Attachment(native);
        Attachment? old;
        lock (_sync)
        {
            old = _attachment;
            _attachment = attachment;
            revived = Volatile.Read(ref _state) == (int)ConnectionState.Dying;
            if (revived) Volatile.Write(ref _state, (int)ConnectionState.Alive);
        }
        old?.Supersede();
        return attachment;
    }

    /// <summary>Detaches a request; returns true if the connection is now dying.</summary>
    internal bool Detach(Attachment attachment, long now)
    {
        lock (_sync)
        {
            if (!ReferenceEquals(_attachment, attachment)) return false;
            _attachment = null;
            if (Volatile.Read(ref _state) == (int)ConnectionState.Dropped) return false;
            Interlocked.Exchange(ref _dyingSince, now);
            Volatile.Write(ref _state, (int)ConnectionState.Dying);
            return true;
        }
    }

    internal bool IsCurrent(Attachment attachment) => ReferenceEquals(Volatile.Read(ref _attachment), attachment);

    /// <summary>The request attached now, if any.</summary>
    internal Attachment? CurrentAttachment => Volatile.Read(ref _attachment);

    /// <summary>
    /// Marks the connection dropped and ends its request. Returns false if it already was, or if
    /// <paramref name="onlyIfDying"/> and a request is attached now (checked under the lock Attach takes).
    /// </summary>
    internal bool MarkDropped(Events.DropReason reason, string? message, bool onlyIfDying = false)
    {
        Attachment? att;
        lock (_sync)
        {
            var state = Volatile.Read(ref _state);
            if (state == (int)ConnectionState.Dropped) return false;
            // An expiry decided on a dying connection: a request that attached since (a revival on this node) keeps it.
            if (onlyIfDying && state != (int)ConnectionState.Dying) return false;
            DropReason = reason;
            DropMessage = message;
            Volatile.Write(ref _state, (int)ConnectionState.Dropped);
            att = _attachment;
            _attachment = null;
        }
        att?.End();
        WakePrivate();
        Pending.Clear();
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Id} ({Dialect}, {WorkStyle}, {State})";
}
