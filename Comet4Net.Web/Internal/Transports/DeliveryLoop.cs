using System.Net.WebSockets;
using Comet4Net.Delivery;
using Comet4Net.Hosting;
using Microsoft.AspNetCore.Http;

namespace Comet4Net.Web.Internal.Transports;

/// <summary>
/// The one delivery loop of every work style: attach the request, take what is due after the
/// client's position, write it through the style's <see cref="FrameSink"/>, wait for more, and end
/// the answer for the reason it ends (timeout, superseded, dropped, client gone). Every transport
/// rule is here once: a gap notice before anything else (also for a position of another epoch), a
/// heartbeat when a held answer is idle, nothing written once superseded, the deadline, acks, the
/// send timeout, and a legacy connection's cursor moving only when its answer went out.
/// </summary>
internal static class DeliveryLoop
{
    // The batch is filled and handed to the sink, which takes its frames before returning: no list is
    // kept per held request.
    [ThreadStatic] private static List<CometMessage>? t_batch;

    /// <summary>The client processed everything through <paramref name="seq"/>: its private messages up to it are let go.</summary>
    internal static void Acknowledge(CometConnection connection, long seq) => CometHost.Acknowledge(connection, seq);

    /// <summary>
    /// Serves one revival (or the SSE connect answer) on <paramref name="sink"/>, starting after
    /// <paramref name="ack"/> (v2; legacy connections keep their position on the server).
    /// <paramref name="epoch"/> is the epoch the client's position belongs to (<c>ep</c>), if it said.
    /// </summary>
    internal static Task RunAsync(CometEngine engine, CometConnection connection, HttpContext http, long ack, FrameSink sink, string? epoch = null)
    {
        var task = LoopAsync(engine, connection, http, ack, sink, epoch);
        if (!task.IsCompleted) t_held = task;
        return task;
    }

    // The last loop this thread started and left waiting: the dispatcher hands it to ASP.NET Core as it
    // is, without a state machine of its own around a held answer, since the loop never faults.
    [ThreadStatic] private static Task? t_held;

    /// <summary>True if <paramref name="task"/> is the delivery loop this thread just started (it handles its own failures).</summary>
    internal static bool IsHeldLoop(Task task)
    {
        var held = t_held;
        t_held = null;
        return ReferenceEquals(held, task);
    }

    private static async Task LoopAsync(CometEngine engine, CometConnection connection, HttpContext http, long ack, FrameSink sink, string? epoch)
    {
        try
        {
            // Every local here lives in the loop's state for as long as the answer is held: what the
            // engine or the scope already keep (the host, the attached request) is read from them instead.
            var v2 = connection.Dialect == CometDialect.V2;
            if (v2) Acknowledge(connection, ack);
            using var scope = await RequestScope.StartAsync(engine, connection, http, sink.Timed);
            try
            {
                var openBytes = sink.OpenBytes; // before OpenAsync, which lets go of what it wrote
                if (!await SendAsync(engine.Host, sink, sink.OpenAsync(scope), 0, openBytes)) return;
                var cursor = v2 ? scope.Request.CursorAfter(ack) : scope.Request.LegacyCursor;
                var first = v2 && scope.Request.EpochGap(ack, epoch, ref cursor) is { } epochGap ? sink.Frames.Gap(epochGap) : null;
                var heartbeat = engine.Host.Options.Heartbeat;
                var heartbeatEvery = sink.Held && heartbeat > 0 && sink.Frames.HasHeartbeat
                    ? TimeSpan.FromMilliseconds(heartbeat / 2.0) : TimeSpan.MaxValue;
                var lastWrite = engine.Host.Timestamp;
                while (true)
                {
                    var signals = scope.Signals();
                    while (sink.TryTakeReply(out var reply))
                    {
                        var sent = await SendAsync(engine.Host, sink, sink.WriteAsync(reply.Frame), 0, reply.Frame.Length);
                        reply.Sent.TrySetResult(sent);
                        if (!sent) return;
                        lastWrite = engine.Host.Timestamp;
                    }
                    if (v2 && scope.Request.TokenExpired) // nothing is delivered past the token's expiry: the client refreshes, then revives
                    {
                        await TokenRefresh.EndExpiredAsync(engine.Host, sink, connection, SendAsync);
                        return;
                    }
                    if (!v2) cursor = scope.Request.LegacyCursor;
                    var batch = t_batch ??= [];
                    batch.Clear();
                    byte[]? gapFrame = null;
                    if (!sink.HoldsDeliveries)
                    {
                        var before = cursor;
                        var gap = scope.Request.Collect(ref cursor, batch, sink.MaxBatch);
                        if (sink.HoldsDeliveries)
                        {
                            // A command started while this was read: what it caused waits for its reply.
                            cursor = before;
                            batch.Clear();
                        }
                        else
                        {
                            gapFrame = Join(first, gap is { } g ? sink.Frames.Gap(g) : null);
                        }
                    }
                    if (batch.Count > 0 || gapFrame is not null)
                    {
                        if (scope.Reason == EndReason.Superseded)
                        {
                            batch.Clear();
                            await sink.EndAsync(EndReason.Superseded);
                            return;
                        }
                        var count = batch.Count;
                        var bytes = sink.Length(gapFrame, batch);
                        var write = sink.WriteAsync(gapFrame, batch, bytes);
                        batch.Clear();
                        first = null;
                        if (!await SendAsync(engine.Host, sink, write, count, bytes)) return;
                        if (!v2) scope.Request.Commit(cursor);
                        if (!sink.Held) return;
                        lastWrite = engine.Host.Timestamp;
                        continue;
                    }
                    var moved = engine.IsDraining && v2 && engine.Host.WasMoved(connection.Id); // the node drains: after what was due, "move"
                    if (scope.IsEnded || moved)
                    {
                        var reason = moved ? EndReason.Timeout : scope.Reason;
                        var last = moved && reason is EndReason.Timeout or EndReason.None ? sink.Frames.Move(DrainService.MoveAfter()) : sink.Frames.End(reason, connection, sink.Held);
                        if (last is not null) await SendAsync(engine.Host, sink, sink.WriteAsync(last), 0, last.Length);
                        await sink.EndAsync(reason);
                        return;
                    }
                    if (engine.Host.Elapsed(lastWrite) >= heartbeatEvery)
                    {
                        var beat = sink.Frames.Heartbeat()!;
                        if (!await SendAsync(engine.Host, sink, sink.WriteAsync(beat), 0, beat.Length)) return;
                        lastWrite = engine.Host.Timestamp;
                    }
                    await scope.WaitAsync(signals, heartbeat: heartbeatEvery != TimeSpan.MaxValue);
                }
            }
            finally
            {
                await sink.FinishAsync(scope);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && http.RequestAborted.IsCancellationRequested)
        {
            // The client went away mid-answer.
        }
        catch (Exception e)
        {
            engine.Host.ReportError(connection, e);
            await CometResponses.ErrorAsync(http, engine.Host.Options, CometErrors.InternalError); // nothing if the answer had started
        }
        finally
        {
            // An SSE conn answer is this loop: its request snapshot lets go of the HttpContext now.
            (connection.Request as HttpCometRequest)?.Release(http);
        }
    }

    private static byte[]? Join(byte[]? first, byte[]? second) =>
        first is null ? second : second is null ? first : [.. first, .. second];

    /// <summary>
    /// One write, given up after SendTimeout where the sink has one (a client that does not read must
    /// not hold its writer: the sink aborts its request). False if the client is gone.
    /// </summary>
    private static async ValueTask<bool> SendAsync(CometHost host, FrameSink sink, ValueTask<bool> send, int frames, long bytes)
    {
        try
        {
            var sent = send.IsCompletedSuccessfully ? send.Result
                : sink.HasSendTimeout ? await send.AsTask().WaitAsync(TimeSpan.FromMilliseconds(host.Options.SendTimeout))
                : await send;
            if (sent) host.AddWritten(frames, bytes);
            return sent;
        }
        catch (TimeoutException)
        {
            host.AddSendTimeout();
            sink.Abort();
            return false;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException or WebSocketException)
        {
            return false;
        }
    }

}
