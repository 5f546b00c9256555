using Comet4Net.Connections;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Hosting;

/// <summary>
/// What a host (Comet4Net.Web, or another server) calls to serve clients: open, find and end
/// connections, attach requests, publish for a client. Obtained from <see cref="CometEngine.Host"/>.
/// For hosts, not the application API: an application uses <see cref="CometEngine"/>.
/// </summary>
/// <remarks>
/// Every call answers with an outcome, never a transport status: the host maps outcomes to its own
/// answers. No call holds a thread while the backplane answers.
/// </remarks>
public sealed partial class CometHost
{
    private readonly CometEngine _engine;

    internal CometHost(CometEngine engine) => _engine = engine;

    /// <summary>The engine's options.</summary>
    public CometOptions Options => _engine.Options;

    /// <summary>The engine's clock, in milliseconds since 1970 (UTC): the <c>time</c> of the frames a host writes.</summary>
    public long NowMs => _engine.NowMs;

    /// <summary>A timestamp of the engine's clock, for <see cref="Elapsed"/>.</summary>
    public long Timestamp => _engine.Timestamp;

    /// <summary>The time since <paramref name="since"/>, a <see cref="Timestamp"/>.</summary>
    public TimeSpan Elapsed(long since) => _engine.Elapsed(since);

    /// <summary>The configured work style (<c>Comet:WorkStyle</c>) as read when it was set; Auto if it is not one.</summary>
    public static CometWorkStyle ConfiguredStyle(CometOptions options) => options.Style();

    /// <summary>The English or the Chinese text, as <c>Comet:Language</c> says.</summary>
    public static string Text(CometOptions options, string english, string chinese) => options.Text(english, chinese);

    /// <summary>True if <paramref name="id"/> has the form of a connection id (22 characters of base64url).</summary>
    public static bool IsValidId(string? id) => ConnectionIds.IsValid(id);

    /// <summary>
    /// Opens a connection for a <c>conn</c> command (before-connect listeners, limits, tokens, the
    /// channels of <paramref name="subscribe"/>). Its session is saved, without holding a thread,
    /// before this returns.
    /// </summary>
    public async ValueTask<ConnectResult> ConnectAsync(ICometRequest request, CometDialect dialect, CometWorkStyle style, string clientVersion,
        long? resumeAfter = null, IReadOnlyCollection<string>? subscribe = null)
    {
        var (allowed, refused) = await _engine.Policies.SplitAsync(request.User, subscribe).ConfigureAwait(false); // channels guarded by policies
        var result = _engine.Lifecycle.Connect(request, dialect, style, clientVersion, resumeAfter, allowed, deferSave: true);
        if (result.Connection is { } connection) await _engine.Lifecycle.SaveSessionAsync(connection).ConfigureAwait(false);
        return Channels.ChannelPolicies.WithRefused(result, refused);
    }

    /// <summary>
    /// Resumes the kept session <paramref name="id"/> for a request that presents its secret:
    /// UnknownSession if none is kept (or it was kicked), NotOwner if the secret is wrong,
    /// Unavailable if the backplane cannot say now (the client tries again). Saved before this returns.
    /// </summary>
    public ValueTask<ConnectResult> ResumeAsync(string id, string? secret, ICometRequest request, CometWorkStyle? style, long ack) =>
        _engine.ResumeAsync(id, secret, request, style, ack);

    /// <summary>
    /// The connection a command names, if the request may use it: a v2 client proves it with the
    /// secret, a legacy one by coming from the same address. Otherwise UnknownSession or NotOwner.
    /// </summary>
    public (CometConnection? Connection, CometOutcome Outcome) Find(string id, string? secret, string clientIp)
    {
        if (_engine.GetConnection(id) is not { } connection) return (null, CometOutcome.UnknownSession);
        var owner = connection.Dialect == CometDialect.V2
            ? ConnectionIds.SecretMatches(secret, connection.Secret)
            : clientIp == connection.ClientIp;
        return owner ? (connection, CometOutcome.Ok) : (null, CometOutcome.NotOwner);
    }

    /// <summary>The reason a recently kicked connection was given, or null.</summary>
    public string? KickedReason(string id) => _engine.KickedReason(id);

    /// <summary>The connection's secret (<c>cs</c>), for its <c>conn</c> answer only.</summary>
    public static string SecretOf(CometConnection connection) => connection.Secret;

    /// <summary>The sequence number the connection's messages start after (<c>seq</c> in its <c>conn</c> answer).</summary>
    public static long StartOf(CometConnection connection) => connection.StartSeq;

    /// <summary>A v2 client switches its work style (<c>ws</c> on a revival); later revivals use it.</summary>
    public static void SwitchStyle(CometConnection connection, CometWorkStyle style) => connection.Style = style;

    /// <summary>The messages sent to <paramref name="connection"/> alone that wait for its acknowledgement (count and bytes): how far behind a slow client is.</summary>
    public static (int Messages, long Bytes) PendingOf(CometConnection connection) => (connection.Pending.Count, connection.Pending.Bytes);

    /// <summary>The client processed everything through <paramref name="seq"/>: its private messages up to it are let go.</summary>
    public static void Acknowledge(CometConnection connection, long seq) => connection.Pending.RemoveThrough(seq);

    /// <summary>
    /// On a shared backplane, before a request attaches: this node serves the connection now (the
    /// session names it), with the subscriptions the session says, without holding a thread.
    /// </summary>
    public ValueTask TakeOverAsync(CometConnection connection) => _engine.Lifecycle.TakeOverAsync(connection);

    /// <summary>
    /// Attaches a request (<paramref name="native"/>: the host's object, <see cref="CometConnection.CurrentRequest"/>)
    /// to the connection: the one attached before is superseded, a dying connection revives.
    /// <paramref name="timed"/>: the request ends at <c>Comet:Timeout</c> (the engine's one timer ends it).
    /// <paramref name="tookOver"/>: the host ran <see cref="TakeOverAsync"/> first. Detach it when done.
    /// </summary>
    public AttachedRequest Attach(CometConnection connection, object? native, bool timed, bool tookOver = true)
    {
        var attachment = _engine.Attach(connection, native, tookOver);
        if (timed) attachment.Deadline = _engine.DeadlineAfter(_engine.Options.Timeout);
        return new AttachedRequest(_engine, connection, attachment);
    }

    /// <summary>When the connection's signed token expires (unix milliseconds), or 0: no token (or a legacy connection).</summary>
    public static long TokenExpiresOf(CometConnection connection) => Interlocked.Read(ref connection.TokenExpires);

    /// <summary>True once the connection's token has expired: nothing is delivered to it until a refresh.</summary>
    public bool TokenExpired(CometConnection connection) => TokenExpiry.Expired(_engine, connection);

    /// <summary>
    /// A client's <c>refresh</c>: <paramref name="token"/> is checked like a connect's and must name the
    /// connection's user; on Ok the expiry moves, saved (without holding a thread) before this returns.
    /// </summary>
    public async ValueTask<TokenRefreshResult> RefreshTokenAsync(CometConnection connection, CometTokens tokens, string? token)
    {
        var result = TokenExpiry.Refresh(_engine, tokens, connection, token);
        if (result.Outcome == CometOutcome.Ok && _engine.Backplane.Sessions.SharesSessions && connection.State != ConnectionState.Dropped)
            await _engine.Lifecycle.SaveSessionAsync(connection).ConfigureAwait(false);
        return result;
    }

    /// <summary>A client's <c>drop</c>. False if a before-drop listener kept the connection.</summary>
    public bool Drop(CometConnection connection) => _engine.Lifecycle.Drop(connection, Events.DropReason.Client);

    /// <summary>A client's <c>drop</c> of a session it is away from: forgets it. False if none was kept or the secret is wrong.</summary>
    /// <remarks>A session another node holds now (not away) is not forgotten here: the node that serves the drop takes it over and drops it, with Comet4J's events.</remarks>
    public bool ForgetSession(string id, string? secret)
    {
        var sessions = _engine.Backplane.Sessions;
        return _engine.Lifecycle.TryFindSession(id, out var session) && session is not null && (session.Away || !sessions.SharesSessions)
            && ConnectionIds.SecretMatches(secret, session.Secret) && sessions.RemoveSession(id);
    }

    /// <summary>A client's publish (<c>cmd=pub</c>): AllowPublish, before-publish listeners, the sender stamped.</summary>
    public PublishResult Publish(CometConnection connection, string channel, string? eventName, JToken? data) =>
        _engine.Publish(connection, channel, eventName, data);

    /// <summary>
    /// A client's publish with an idempotency key (<c>cmd=pub&amp;idem=…</c>, checked by the host with <see cref="Delivery.IdempotencyKeys.IsValid"/>):
    /// appended once within Comet:IdempotencyWindow; a repeat is answered with the first one's number and <see cref="PublishResult.Duplicate"/>.
    /// </summary>
    public Task<PublishResult> PublishOnceAsync(CometConnection connection, string channel, string? eventName, JToken? data, string idempotencyKey) =>
        _engine.Publishing.PublishOnceAsync(connection, channel, eventName, data, idempotencyKey);

    /// <summary>Counts a write that went out: <paramref name="frames"/> messages, <paramref name="bytes"/> in all.</summary>
    public void AddWritten(int frames, long bytes) => _engine.Counters.AddWritten(frames, bytes);

    /// <summary>Counts a write given up after SendTimeout: a limit hit, and a send timeout (<c>comet.send.timeouts</c>).</summary>
    public void AddSendTimeout()
    {
        _engine.Counters.AddLimitHit();
        _engine.Counters.AddSendTimeout();
    }

    /// <summary>Reports a transport's failure (logged, and raised as an error event).</summary>
    public void ReportError(CometConnection? connection, Exception exception) => _engine.Bus.ReportError(_engine, connection, exception, null);

    /// <summary>Begins the drain (<see cref="CometEngine.IsDraining"/>): the host refuses new connections from now on. False if it had begun.</summary>
    public bool BeginDrain() => _engine.BeginDrain();

    /// <summary>The connections this node holds now: what a drain tells to move.</summary>
    public IReadOnlyList<CometConnection> HeldConnections() => _engine.HeldConnections();

    /// <summary>
    /// During the drain: tells the connection to move. Its held request ends as at its timeout (the
    /// host writes the move notice instead of <c>dying</c> where the dialect has one) and
    /// <see cref="WasMoved"/> says so from then on. False if it had been told, or no drain began.
    /// </summary>
    public bool Move(CometConnection connection) => _engine.Move(connection);

    /// <summary>True if the connection <paramref name="id"/> was told to move (its requests here go elsewhere).</summary>
    public bool WasMoved(string id) => _engine.WasMoved(id);

    /// <summary>Ends every connection: the host is stopping.</summary>
    public void Shutdown() => _engine.Lifecycle.Shutdown();
}
