using System.Text;
using Comet4Net.Delivery;
using Comet4Net.Hosting;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>
/// The bytes of one dialect: each message's frame (encoded once per message and shared by every
/// connection), the gap and heartbeat frames, and what ends an answer for each reason.
/// </summary>
internal abstract class FrameWriter
{
    internal abstract string ContentType { get; }

    /// <summary>The message's frame in this dialect.</summary>
    internal abstract byte[] Frame(CometMessage message);

    /// <summary>The gap notice, or null where the dialect has none (legacy).</summary>
    internal abstract byte[]? Gap(DeliveryGap gap);

    /// <summary>What an idle held answer writes to prove it is alive, or null (legacy).</summary>
    internal abstract byte[]? Heartbeat();

    /// <summary>False where <see cref="Heartbeat"/> is null.</summary>
    internal virtual bool HasHeartbeat => true;

    /// <summary>
    /// The last bytes of an answer that ends for <paramref name="reason"/>; null: nothing (a long poll
    /// then answers 204 when superseded, an empty body otherwise).
    /// </summary>
    internal abstract byte[]? End(EndReason reason, CometConnection connection, bool held);

    /// <summary>
    /// The last frame of an answer whose node drains (see <see cref="DrainService"/>): move, resuming
    /// after <paramref name="afterMs"/> ms; null where the dialect has none (legacy: its answer ends as at its timeout).
    /// </summary>
    internal virtual byte[]? Move(int afterMs) => null;
}

/// <summary>The writers of one engine, made once (a writer keeps no state of a request).</summary>
internal sealed class FrameWriters(CometEngine engine)
{
    internal LegacyFrames Legacy { get; } = new(engine);
    internal V2Frames V2 { get; } = new(engine);
    internal SseFrames SseNamed { get; } = new(engine, named: true);
    internal SseFrames SseUnnamed { get; } = new(engine, named: false);

    internal SseFrames Sse(bool named) => named ? SseNamed : SseUnnamed;

    internal FrameWriter For(CometConnection connection, CometWorkStyle style, bool namedSse) =>
        connection.Dialect == CometDialect.Legacy ? Legacy
        : style == CometWorkStyle.Sse ? Sse(namedSse)
        : V2;
}

/// <summary>Comet4J 0.1.x frames: '&lt;' + encoded JSON + '&gt;'; no gap, no heartbeat.</summary>
internal sealed class LegacyFrames(CometEngine engine) : FrameWriter
{
    internal override string ContentType => CometResponses.LegacyContentType;
    internal override byte[] Frame(CometMessage message) => CometFrames.Legacy(message);
    internal override byte[]? Gap(DeliveryGap gap) => null;
    internal override byte[]? Heartbeat() => null;
    internal override bool HasHeartbeat => false;

    // A legacy client revives on any c4j frame: on a stream a dropped connection gets "dying", finds its cid gone and stops.
    internal override byte[]? End(EndReason reason, CometConnection connection, bool held) => reason switch
    {
        EndReason.Timeout => CometResponses.LegacyDying(engine),
        EndReason.Dropped => held ? CometResponses.LegacyDying(engine) : [],
        _ => null,
    };
}

/// <summary>v2 NDJSON frames (stream and lpool).</summary>
internal sealed class V2Frames(CometEngine engine) : FrameWriter
{
    internal override string ContentType => CometResponses.V2ContentType;
    internal override byte[] Frame(CometMessage message) => CometFrames.V2(message);
    internal override byte[]? Gap(DeliveryGap gap) => CometResponses.V2System(engine, "gap", CometResponses.GapFields(gap));
    internal override byte[]? Heartbeat() => CometResponses.V2System(engine, "hb");
    internal override byte[]? Move(int afterMs) => CometResponses.V2System(engine, "move", CometResponses.MoveFields(afterMs));

    internal override byte[]? End(EndReason reason, CometConnection connection, bool held) => reason switch
    {
        EndReason.Timeout => CometResponses.V2System(engine, "dying"),
        EndReason.Superseded => held ? CometResponses.V2System(engine, "superseded") : null,
        EndReason.TokenExpired => CometResponses.V2System(engine, TokenRefresh.ExpiredType, TokenRefresh.ExpiredFields(engine)),
        EndReason.Dropped => CometResponses.KickedFields(connection) is { } kicked ? CometResponses.V2System(engine, "kicked", kicked) : held ? null : [],
        _ => null,
    };
}

/// <summary>
/// Server-Sent Events: <c>id:</c> the sequence number, <c>event:</c> the channel and <c>data:</c>
/// the data; or, for clients that read everything through <c>onmessage</c>, unnamed events whose
/// data is the whole v2 frame.
/// </summary>
internal sealed class SseFrames(CometEngine engine, bool named) : FrameWriter
{
    private static readonly byte[] Beat = ": hb\n\n"u8.ToArray();

    internal override string ContentType => CometResponses.SseContentType;
    internal override byte[] Frame(CometMessage message) => named ? CometFrames.Sse(message) : CometFrames.SseUnnamed(message);
    internal override byte[]? Gap(DeliveryGap gap) => System("gap", CometResponses.GapFields(gap));
    // Named events: a comment line. Unnamed (the bundled client): a c4j frame its onmessage sees, so it can tell a buffering proxy from a quiet stream.
    internal override byte[]? Heartbeat() => named ? Beat : System("hb");
    internal override byte[]? Move(int afterMs) => System("move", CometResponses.MoveFields(afterMs));

    /// <summary>The stream's first bytes: the reconnect delay, and the connect event when the stream is also the connect answer.</summary>
    internal byte[] Preamble(IDictionary<string, object?>? connectFields)
    {
        var retry = $"retry: {engine.Context.Options.SseRetry}\n\n";
        if (connectFields is null) return Encoding.UTF8.GetBytes(retry);
        return named ? CometFrames.SseSystem("conn", connectFields, retry)
            : CometFrames.SseUnnamedSystem("conn", connectFields, engine.Host.NowMs, retry);
    }

    internal override byte[]? End(EndReason reason, CometConnection connection, bool held) => reason switch
    {
        EndReason.Timeout => System("dying"),
        EndReason.Superseded => System("superseded"),
        EndReason.TokenExpired => System(TokenRefresh.ExpiredType, TokenRefresh.ExpiredFields(engine)),
        EndReason.Dropped when CometResponses.KickedFields(connection) is { } kicked => System("kicked", kicked),
        _ => null,
    };

    private byte[] System(string type, object? fields = null) =>
        named ? CometResponses.SseSystem(type, fields) : CometResponses.SseUnnamedSystem(type, fields);
}
