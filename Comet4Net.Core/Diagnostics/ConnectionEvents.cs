using Comet4Net.Delivery;
using Comet4Net.Events;

namespace Comet4Net.Diagnostics;

/// <summary>What happens to a connection, as short spans (<see cref="CometTracing.Event"/>): nothing is done while nothing listens.</summary>
internal static class ConnectionEvents
{
    internal static void Connected(CometConnection connection) =>
        CometTracing.Event(CometDiagnostics.ConnectSpan, connection, connection, static (span, c) =>
        {
            span.SetTag("comet.dialect", c.Dialect.ToString());
            span.SetTag("comet.client.address", c.ClientIp);
        });

    /// <summary>
    /// A session resumed after <paramref name="ack"/>: the span says how many messages the node still holds
    /// for it (to be sent again), counted only when the span is recorded.
    /// </summary>
    internal static void Resumed(CometConnection connection, MessageLog log, long ack, bool handOver) =>
        CometTracing.Event(CometDiagnostics.ResumeSpan, connection, (connection, log, ack, handOver), static (span, s) =>
        {
            span.SetTag("comet.resume.after", s.ack);
            span.SetTag("comet.resume.handover", s.handOver);
            span.SetTag("comet.resume.messages", Due(s.connection, s.log, s.ack));
        });

    /// <summary>A connection ended: its reason, and the message given to it (a kick's).</summary>
    internal static void Dropped(CometConnection connection, DropReason reason, string? message) =>
        CometTracing.Event(CometDiagnostics.DropSpan, connection, (reason, message), static (span, s) =>
        {
            span.SetTag("comet.drop.reason", s.reason.ToString().ToLowerInvariant());
            if (s.message is not null) span.SetTag("comet.drop.message", s.message);
        });

    /// <summary>How many messages the connection is due after <paramref name="after"/>: its private queue and the broadcasts of the log it receives.</summary>
    private static int Due(CometConnection connection, MessageLog log, long after)
    {
        var due = connection.Pending.Count;
        var basis = Math.Max(after, connection.StartSeq);
        var visible = log.LastSeq;
        for (var pos = Math.Max(log.PositionAfter(basis), log.First); log.At(pos) is { } m && m.Seq <= visible; pos++)
        {
            if (m.HoleAfter is null && m.Seq > basis && connection.Receives(m.Channel, m.Seq)) due++;
        }
        return due;
    }

}
