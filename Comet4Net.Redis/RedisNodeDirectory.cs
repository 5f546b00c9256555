using Comet4Net.Backplane;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using StackExchange.Redis;

namespace Comet4Net.Redis;

/// <summary>
/// The nodes on one Redis, for the dashboard: every <see cref="ReportEvery"/> each node writes a small
/// summary of itself (with the time, by its clock) to one field of one hash; reading takes the hash and
/// keeps the summaries younger than <see cref="Lifetime"/>, and lets go of fields far older (nodes gone).
/// One key: no multi-key call, so it works on a Redis Cluster too. One small write per node every 2 s.
/// </summary>
internal sealed class RedisNodeDirectory(ICometBackplane backplane, CometContext context, TimeProvider time, ILogger<RedisNodeDirectory>? logger = null)
    : ICometNodeDirectory, IHostedService, IDisposable
{
    internal static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(2);
    internal static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    private RedisBackplane Redis => backplane as RedisBackplane
        ?? throw new InvalidOperationException("The backplane is not Comet4Net.Redis's (AddRedis() was replaced).");

    private RedisKey NodesKey => Redis.Options.Prefix + "nodes";

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ReadAsync(CancellationToken cancellationToken = default)
    {
        var db = Redis.Multiplexer.GetDatabase();
        var entries = await db.HashGetAllAsync(NodesKey).WaitAsync(CallTimeout, time, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var live = new List<string>(entries.Length);
        var gone = new List<RedisValue>();
        foreach (var entry in entries)
        {
            var text = (string?)entry.Value;
            var at = text is null ? 0 : JObject.Parse(text).Value<long?>("at") ?? 0;
            if (now - at <= Lifetime.TotalMilliseconds) live.Add(text!);
            else if (now - at > 6 * Lifetime.TotalMilliseconds) gone.Add(entry.Name);
        }
        if (gone.Count > 0) db.HashDelete(NodesKey, gone.ToArray(), CommandFlags.FireAndForget);
        return live;
    }

    /// <summary>Writes this node's summary now.</summary>
    internal async Task ReportAsync()
    {
        var engine = context.Engine;
        var stats = engine.GetStatistics();
        var summary = JsonConvert.SerializeObject(new
        {
            node = engine.NodeId,
            connections = stats.Connections,
            byWorkStyle = stats.ConnectionsByWorkStyle,
            messages = stats.MessagesSent,
            frames = stats.FramesWritten,
            gaps = stats.Gaps,
            lastSequence = backplane.Log.LastSequence,
            redisConnected = Redis.IsConnected,
            waitingMessages = Redis.WaitingMessages,
            at = time.GetUtcNow().ToUnixTimeMilliseconds(),
        });
        await Redis.Multiplexer.GetDatabase().HashSetAsync(NodesKey, engine.NodeId, summary).WaitAsync(CallTimeout, time).ConfigureAwait(false);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(LoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(ReportEvery, time);
        try
        {
            while (true)
            {
                try
                {
                    await ReportAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
                {
                    if (e is ObjectDisposedException) return; // the host stops: the backplane closed its connection first
                    // Redis away: the summary ages out and the dashboard says so; the backplane logs the outage.
                    if (logger is not null && logger.IsEnabled(LogLevel.Debug)) logger.LogDebug(e, "The node summary was not written to Redis.");
                }
                await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop) await loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        // Leaves the list at once rather than after the lifetime.
        try { Redis.Multiplexer.GetDatabase().HashDelete(NodesKey, context.Engine.NodeId, CommandFlags.FireAndForget); }
        catch (Exception e) when (e is RedisException or ObjectDisposedException) { } // Redis away, or the backplane already closed it: the summary ages out
    }

    public void Dispose() => _stop.Dispose();
}
