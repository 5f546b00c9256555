using Comet4Net.Connections;
using Comet4Net.Delivery;

namespace Comet4Net.Hosting;

/// <summary>
/// One request of the host attached to a connection (<see cref="CometHost.Attach"/>): whether it has
/// ended (superseded, dropped, past its deadline), the signals to wait on, and what is due to it.
/// For hosts, not the application API.
/// </summary>
/// <remarks>
/// A struct over the engine's own objects: attaching allocates nothing beyond the engine's record of
/// the request, and no call here allocates per message. <see cref="Detach"/> once the request is done.
/// </remarks>
public readonly struct AttachedRequest
{
    private readonly CometEngine _engine;
    private readonly Attachment _attachment;

    internal AttachedRequest(CometEngine engine, CometConnection connection, Attachment attachment)
    {
        _engine = engine;
        Connection = connection;
        _attachment = attachment;
    }

    /// <summary>The connection the request is attached to.</summary>
    public CometConnection Connection { get; }

    /// <summary>True once superseded, dropped or past its deadline.</summary>
    public bool IsEnded => _attachment.IsEnded;

    /// <summary>True if a newer request of the connection took over.</summary>
    public bool WasSuperseded => _attachment.WasSuperseded;

    /// <summary>True if the request ended at its deadline (<c>Comet:Timeout</c>).</summary>
    public bool TimedOut => _attachment.TimedOut;

    /// <summary>True once the connection's token has expired: the host ends the request with <c>token-expired</c> and delivers nothing more.</summary>
    public bool TokenExpired => Connection.TokenExpires != 0 && TokenExpiry.Expired(_engine, Connection);

    /// <summary>True while this is the connection's attached request (no newer one, not dropped).</summary>
    public bool IsCurrent => Connection.IsCurrent(_attachment);

    /// <summary>Runs <paramref name="action"/> when the request ends (at once if it has; it may run twice: keep it idempotent).</summary>
    public void OnEnd(Action action) => _attachment.OnEnd(action);

    /// <summary>Wakes <paramref name="waker"/> when the request ends (at once if it has; it may be woken twice).</summary>
    public void OnEnd(IRequestWaker waker) => _attachment.OnEnd(waker);

    /// <summary>
    /// Sets the connection's wake-up: called (on the sender's thread: keep it short) when a private
    /// message arrives or the connection is dropped. One per connection; the last set wins.
    /// </summary>
    public void SetWaker(Action waker) => Connection.SetWaker(waker);

    /// <summary>Clears the wake-up if it is still <paramref name="waker"/>.</summary>
    public void ClearWaker(Action waker) => Connection.ClearWaker(waker);

    /// <summary>Sets the connection's wake-up to <paramref name="waker"/> (no delegate per request; see <see cref="SetWaker(Action)"/>).</summary>
    public void SetWaker(IRequestWaker waker) => Connection.SetWaker(waker);

    /// <summary>Clears the wake-up if it is still <paramref name="waker"/>.</summary>
    public void ClearWaker(IRequestWaker waker) => Connection.ClearWaker(waker);

    /// <summary>Completes at the next broadcast this node receives. Take it before looking for work, so that no pulse is missed.</summary>
    public Task BroadcastSignal => _engine.Delivery.BroadcastSignal.WaitTask;

    /// <summary>Completes at the next heartbeat pulse of the engine's timer.</summary>
    public Task HeartbeatSignal => _engine.Delivery.HeartbeatSignal.WaitTask;

    /// <summary>Grows whenever a private message arrives or the connection is dropped: compare before and after a wait.</summary>
    public long PrivateVersion => Connection.PrivateVersion;

    /// <summary>A cursor just after sequence number <paramref name="after"/> (a v2 client's <c>ack</c>).</summary>
    public ReadCursor CursorAfter(long after)
    {
        Connection.Delta?.Resume(after); // a delta's base must be one the client confirmed
        return _engine.CursorAfter(Connection, after);
    }

    /// <summary>Where a legacy connection is: the server keeps its position (it moves by <see cref="Commit"/>).</summary>
    public ReadCursor LegacyCursor => Connection.LegacyCursor;

    /// <summary>
    /// A v2 position of another epoch (<c>ep</c>: the log restarted while the session was kept)
    /// cannot be matched against this log's numbers: everything from it up to where this log can
    /// serve the connection from is a gap, said before anything else, and <paramref name="cursor"/>
    /// moves past it. Null (and the cursor untouched) for this epoch, no epoch, or a position already past it.
    /// </summary>
    public DeliveryGap? EpochGap(long ack, string? epoch, ref ReadCursor cursor)
    {
        if (string.IsNullOrEmpty(epoch) || epoch == _engine.Backplane.Epoch) return null;
        var connection = Connection;
        var servesAfter = Math.Max(Math.Max(connection.StartSeq, _engine.Delivery.Log.TrimmedThroughSeq), connection.Pending.DroppedThroughSeq);
        if (servesAfter <= ack) return null;
        cursor = _engine.CursorAfter(connection, servesAfter);
        connection.Delta?.Reset();
        return new DeliveryGap(ack + 1, servesAfter);
    }

    /// <summary>
    /// Takes up to <paramref name="max"/> messages due to the connection after <paramref name="cursor"/>
    /// into <paramref name="into"/>, broadcasts and private messages merged in sequence order, and moves
    /// the cursor past them. Returns the gap found first (what is no longer held), if any.
    /// </summary>
    public DeliveryGap? Collect(ref ReadCursor cursor, List<CometMessage> into, int max) => _engine.Collect(Connection, ref cursor, into, max);

    /// <summary>
    /// A legacy connection's answer went out: its position moves to <paramref name="cursor"/>, only if
    /// this request is still the one attached (a superseded answer may not have reached the client).
    /// </summary>
    public void Commit(ReadCursor cursor)
    {
        var connection = Connection;
        lock (connection.Sync)
        {
            if (!connection.IsCurrent(_attachment)) return;
            connection.LegacyCursor = cursor;
        }
        connection.Pending.RemoveThrough(cursor.LastSeq);
    }

    /// <summary>Detaches the finished request: the connection is dying (ConnExpires runs) unless a newer request took over.</summary>
    public void Detach() => _engine.Detach(Connection, _attachment);
}
