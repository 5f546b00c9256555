using Comet4Net.Web.Internal.Commands;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Comet4Net.Web.Internal;

/// <summary>
/// A node that stops drains (SIGTERM, a rolling deploy): it refuses new connections with
/// <c>503 draining</c> (a balancer, or the client's next try, reaches another node), tells each held
/// connection to move at a moment of its own spread over <see cref="CometOptions.DrainTime"/> (v2:
/// a <c>move</c> frame after what was due, and the client resumes from its position wherever it
/// lands; legacy: its answer ends as at its timeout and it revives here), then ends what is left.
/// </summary>
/// <remarks>
/// Nothing is kept per connection before the drain: it walks the registry once when it begins. The
/// moments are stratified (one per slice of the window, at a random point of it), so a node of n
/// connections tells about n / DrainTime of them per second, never a burst.
/// </remarks>
internal sealed partial class DrainService(CometContext context, HostOptions hostOptions, ILogger logger)
{
    private Task? _drain;

    private CometEngine Engine => context.Engine;

    /// <summary>The delay hint of one move frame: a little jitter, the spreading is the drain's.</summary>
    internal static int MoveAfter() => Random.Shared.Next(0, 250);

    /// <summary>The drain's window: DrainTime, within the host's ShutdownTimeout less a second for the rest of the shutdown.</summary>
    internal TimeSpan Window
    {
        get
        {
            var drain = TimeSpan.FromMilliseconds(context.Options.DrainTime);
            var bound = hostOptions.ShutdownTimeout - TimeSpan.FromSeconds(1);
            return drain < bound ? drain : bound > TimeSpan.Zero ? bound : TimeSpan.Zero;
        }
    }

    /// <summary>From the first signal that the host stops (ApplicationStopping): no new connections.</summary>
    internal void Begin() => Engine.Host.BeginDrain();

    /// <summary>Drains (once), then ends every connection left. Returns when done, or when <paramref name="cancel"/> (the shutdown timeout) fires.</summary>
    internal Task DrainAsync(CancellationToken cancel)
    {
        lock (this) return _drain ??= RunAsync(cancel);
    }

    private async Task RunAsync(CancellationToken cancel)
    {
        var host = Engine.Host;
        host.BeginDrain();
        try
        {
            var window = Window;
            var held = host.HeldConnections().ToArray();
            if (window > TimeSpan.Zero && held.Length > 0)
            {
                Random.Shared.Shuffle(held);
                LogDraining(logger, held.Length, (int)window.TotalMilliseconds);
                var started = host.Timestamp;
                for (var i = 0; i < held.Length; i++)
                {
                    var due = window * ((i + Random.Shared.NextDouble()) / held.Length);
                    var wait = due - host.Elapsed(started);
                    if (wait > TimeSpan.FromMilliseconds(1)) await Task.Delay(wait, cancel);
                    host.Move(held[i]);
                }
                // Their answers end once the move notice went out: wait for that (at most 2 s), so that no
                // notice is cut off by the server's stop (a reset loses what a proxy had not passed on yet).
                var waited = host.Timestamp;
                while (held.Any(c => c.Dialect == CometDialect.V2 && c.State == ConnectionState.Alive) && host.Elapsed(waited) < TimeSpan.FromSeconds(2))
                    await Task.Delay(TimeSpan.FromMilliseconds(50), cancel);
            }
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout: what is left ends now.
        }
        finally
        {
            host.Shutdown();
        }
    }

    /// <summary>
    /// The <c>503 draining</c> answer's <c>spread</c> (ms): a client that gets a second one in a row (no other
    /// node answered) comes back at a random moment over this window, not with a short backoff, so that the
    /// node's clients do not all return at once when it (or its replacement) starts.
    /// </summary>
    internal static Dictionary<string, object?> Spread(CometOptions options) => new() { ["spread"] = Math.Max(options.DrainTime, 1000) };

    /// <summary>
    /// While draining: true if <paramref name="request"/> must go elsewhere (503 draining): a new
    /// connection, or a v2 revival of a connection this node does not hold or told to move. A legacy
    /// revival is served here (its connection lives only here), as are the other commands.
    /// </summary>
    internal static bool Refuses(CometEngine engine, CommandRequest request)
    {
        if (!engine.IsDraining) return false;
        if (request.Command == CometProtocol.CmdConnect) return true;
        if (request.Command != CometProtocol.CmdRevival) return false;
        var cid = request.Get(CometProtocol.FlagId);
        if (cid is not null && engine.GetConnection(cid) is { } held)
            return held.Dialect == CometDialect.V2 && engine.Host.WasMoved(held.Id);
        return request.Get(CometProtocol.FlagSecret) is not null;
    }

    [LoggerMessage(EventId = 905, Level = LogLevel.Information, Message = "Comet4Net drains: {Connections} connections told to move over {WindowMs} ms; new connections go elsewhere")]
    private static partial void LogDraining(ILogger logger, int connections, int windowMs);
}
