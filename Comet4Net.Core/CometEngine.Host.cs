using Comet4Net.Backplane;
using Comet4Net.Connections;
using Comet4Net.Delivery;
using Comet4Net.Hosting;
using Newtonsoft.Json.Linq;

namespace Comet4Net;

/// <summary>
/// The engine's side of the host seam: <see cref="Host"/> (what a host such as Comet4Net.Web calls,
/// in <see cref="Hosting"/>), and the engine's own steps behind it (connect, resume, attach, read,
/// and the scheduler's passes).
/// </summary>
public sealed partial class CometEngine
{
    private CometHost? _host;

    /// <summary>
    /// What a host (Comet4Net.Web, or another server) calls to serve clients: connect, find, attach,
    /// deliver, drop. Not the application API.
    /// </summary>
    public CometHost Host => _host ??= new CometHost(this);

    /// <summary>Opens a connection for a <c>conn</c> command.</summary>
    internal ConnectResult Connect(ICometRequest request, CometDialect dialect, CometWorkStyle style, string clientVersion,
        long? resumeAfter = null, IReadOnlyCollection<string>? subscribe = null) =>
        Lifecycle.Connect(request, dialect, style, clientVersion, resumeAfter, subscribe);

    /// <summary>
    /// Resumes the session <paramref name="id"/> (its connection was dropped after ConnExpires, the
    /// session is kept for the resume window) for a request that presents its secret.
    /// UnknownSession if none is kept, NotOwner if the secret is wrong, Unavailable if the backplane
    /// cannot say now (the client tries again: answering "unknown" would reset it and lose its messages).
    /// The session is read and saved without holding a thread while the backplane answers; it is saved
    /// before this returns (the client's next request may go to another node).
    /// </summary>
    internal async ValueTask<ConnectResult> ResumeAsync(string id, string? secret, ICometRequest request, CometWorkStyle? style, long ack)
    {
        SessionState? session;
        try
        {
            session = await Backplane.Sessions.FindSessionAsync(id).ConfigureAwait(false);
        }
        catch (CometBackplaneUnavailableException)
        {
            return SessionUnavailable();
        }
        session = await Policies.FilterAsync(session, secret, request).ConfigureAwait(false); // without the channels a policy refuses now
        var result = ResumeFound(session, secret, request, style, ack);
        if (result.Connection is { } connection) await Lifecycle.SaveSessionAsync(connection).ConfigureAwait(false);
        return result;
    }

    private ConnectResult SessionUnavailable() => new(null, CometOutcome.Unavailable,
        Options.Text("The server cannot read this connection's session right now: try again shortly.", "服务器暂时无法读取该连接的会话，请稍后重试。"), 0, TimeSpan.FromSeconds(1));

    private ConnectResult ResumeFound(SessionState? session, string? secret, ICometRequest request, CometWorkStyle? style, long ack)
    {
        if (session is null) return new ConnectResult(null, CometOutcome.UnknownSession, null);
        if (!ConnectionIds.SecretMatches(secret, session.Secret)) return new ConnectResult(null, CometOutcome.NotOwner, null);
        if (session.Kicked is { } reason)
        {
            // Kicked on another node: this node tells the client so (as the kicking node would), never resumes it.
            Lifecycle.RememberKicked(session.Id, reason);
            return new ConnectResult(null, CometOutcome.UnknownSession, null);
        }
        var chosen = style is { } s && s != CometWorkStyle.Auto ? s : session.Style;
        return Lifecycle.Resume(session, request, chosen, ack, deferSave: true);
    }

    /// <summary>A client's publish (<c>cmd=pub</c>).</summary>
    internal PublishResult Publish(CometConnection connection, string channel, string? eventName, JToken? data) =>
        Publishing.Publish(connection, channel, eventName, data);

    /// <summary>The reason a recently kicked connection was given, or null.</summary>
    internal string? KickedReason(string id) => Lifecycle.KickedReason(id);

    /// <summary>Attaches a request to a connection (Revival if it was dying).</summary>
    internal Attachment Attach(CometConnection connection, object? native, bool tookOver = false) => Lifecycle.Attach(connection, native, tookOver);

    /// <summary>Detaches a finished request (Dying if no newer one took over).</summary>
    internal void Detach(CometConnection connection, Attachment attachment) => Lifecycle.Detach(connection, attachment);

    /// <summary>A cursor just after <paramref name="after"/> for the connection.</summary>
    internal ReadCursor CursorAfter(CometConnection connection, long after) => Reader.CursorAfter(connection, after);

    /// <summary>Takes what is due to the connection after its cursor (see <see cref="DeliveryReader.Collect"/>).</summary>
    internal DeliveryGap? Collect(CometConnection connection, ref ReadCursor cursor, List<CometMessage> into, int max) =>
        Reader.Collect(connection, ref cursor, into, max);

    /// <summary>Removes connections dying longer than ConnExpires. Called by the scheduler.</summary>
    internal int ExpireConnections()
    {
        var removed = Lifecycle.ExpireConnections();
        Lifecycle.KeepSessions();
        Backplane.Sessions.ExpireSessions();
        Backplane.Presence.KeepEntries();
        Lifecycle.ExpireUsers();
        Subscriptions.ExpireMembers();
        return removed;
    }

    /// <summary>
    /// Ends the attached requests past their deadline (Comet:Timeout): one pass over the held
    /// connections on the scheduler's tick instead of a timer per request. Returns how many ended.
    /// </summary>
    internal int EndOverdueRequests()
    {
        var now = Timestamp;
        var ended = 0;
        foreach (var connection in _registry.Enumerate())
        {
            if (connection.CurrentAttachment is { Deadline: not 0 } attachment && now >= attachment.Deadline && !attachment.IsEnded)
            {
                attachment.TimeOut();
                ended++;
            }
            else if (TokenExpiry.EndIfExpired(this, connection)) ended++;
        }
        return ended;
    }

    /// <summary>The engine's clock <paramref name="milliseconds"/> from now (for <see cref="Attachment.Deadline"/>).</summary>
    internal long DeadlineAfter(int milliseconds) => Timestamp + milliseconds * Time.TimestampFrequency / 1000;

    /// <summary>Discards kept messages older than CacheExpires. Called by the scheduler.</summary>
    internal int TrimCache()
    {
        var now = NowMs;
        var removed = Delivery.TrimOlderThan(now - Options.CacheExpires);
        // The shared log lets go of what is older than CacheExpires: every message numbered at or below
        // what this node had received CacheExpires ago (a node that started later trims nothing before then).
        _received.Enqueue((now, Delivery.Log.LastSeq));
        long? past = null;
        while (_received.TryPeek(out var sample) && sample.At <= now - Options.CacheExpires)
        {
            past = sample.Seq;
            _received.Dequeue();
        }
        if (past is { } seq) Backplane.Log.TrimBefore(seq + 1);
        return removed;
    }

    private readonly Queue<(long At, long Seq)> _received = new(); // the scheduler's: (time, last number received) at each trim

}
