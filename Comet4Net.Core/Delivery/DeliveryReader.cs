using Comet4Net.Diagnostics;

namespace Comet4Net.Delivery;

/// <summary>
/// A gap: messages with sequence numbers in [From, To] meant for the reader are no longer held. For hosts:
/// the host tells its client so (a <c>gap</c> frame) before anything else.
/// </summary>
public readonly record struct DeliveryGap(long From, long To);

/// <summary>
/// Reads what one connection should receive: the broadcasts of the local log it listens to and
/// its own queue of private messages, merged in sequence order, after a cursor.
/// </summary>
internal sealed class DeliveryReader(MessageLog log, EngineCounters counters)
{
    /// <summary>A cursor positioned just after sequence number <paramref name="after"/>.</summary>
    internal ReadCursor CursorAfter(CometConnection connection, long after)
    {
        var basis = Math.Max(after, connection.StartSeq);
        return new ReadCursor(log.PositionAfter(basis), basis);
    }

    /// <summary>
    /// Takes up to <paramref name="max"/> messages after <paramref name="cursor"/> for
    /// <paramref name="connection"/>, in sequence order, broadcasts and private messages merged,
    /// and moves the cursor past them. Returns the gap found first, if any. A dropped connection gets
    /// nothing (see the end).
    /// </summary>
    internal DeliveryGap? Collect(CometConnection connection, ref ReadCursor cursor, List<CometMessage> into, int max)
    {
        var from = cursor;
        var visible = log.LastSeq;
        var basis = Math.Max(cursor.LastSeq, connection.StartSeq);
        DeliveryGap? gap = null;
        var gapTo = Math.Max(log.TrimmedThroughSeq, connection.Pending.DroppedThroughSeq);
        if (gapTo > basis)
        {
            gap = new DeliveryGap(basis + 1, gapTo);
            basis = gapTo;
            Gap(connection, gap.Value);
        }
        if (cursor.LogPosition < log.First) cursor.LogPosition = log.First;

        List<CometMessage>? pending = null;
        if (connection.Pending.Count > 0)
        {
            pending = new List<CometMessage>();
            connection.Pending.CopyRange(basis, visible, pending);
        }

        var pos = cursor.LogPosition;
        var start = into.Count;
        var pi = 0;
        var last = basis;
        var taken = 0;
        while (taken < max)
        {
            var m = log.At(pos);
            var fromLog = m is not null && m.Seq <= visible;
            if (fromLog && m!.HoleAfter is { } holeAfter)
            {
                if (m.Seq <= basis) { pos++; continue; }
                if (taken > 0 || gap is not null) break; // the next read starts at the hole and reports it first
                gap = new DeliveryGap(Math.Max(basis, holeAfter) + 1, m.Seq);
                Gap(connection, gap.Value);
                basis = last = m.Seq;
                pos++;
                continue;
            }
            if (fromLog && (m!.Seq <= basis || !connection.Receives(m.Channel, m.Seq))) { pos++; continue; }
            var p = pending is not null && pi < pending.Count ? pending[pi] : null;
            if (!fromLog && p is null) break;
            if (p is not null && (!fromLog || p.Seq < m!.Seq))
            {
                into.Add(p);
                pi++;
                last = p.Seq;
            }
            else
            {
                into.Add(m!);
                pos++;
                last = m!.Seq;
            }
            taken++;
        }
        if (connection.State == ConnectionState.Dropped)
        {
            // Dropped meanwhile (or before a request attached to it): the drop cleared its private queue, and
            // broadcasts read past the private messages it held would move the client's position beyond them.
            // Nothing goes out: the request ends, and the client's next one resumes its session, refilled from the log.
            // (The drop marks the state before it clears the queue, so a read that saw the queue cleared sees the state.)
            into.RemoveRange(start, into.Count - start);
            cursor = from;
            return null;
        }
        cursor.LogPosition = pos;
        cursor.LastSeq = last;
        if (taken > 0) CometTracing.Delivered(connection, into, start);
        connection.Delta?.Choose(into, start, gap is not null);
        return gap;
    }

    /// <summary>A gap found for a connection: counted, and a span if traced.</summary>
    private void Gap(CometConnection connection, DeliveryGap gap)
    {
        counters.AddGap();
        CometTracing.Event(CometDiagnostics.GapSpan, connection, gap, static (span, g) =>
        {
            span.SetTag("comet.gap.from", g.From);
            span.SetTag("comet.gap.to", g.To);
        });
    }
}
