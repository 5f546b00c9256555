using Comet4Net.Backplane;
using Comet4Net.Events;
using Comet4Net.Hosting;
using Microsoft.AspNetCore.Http;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Internal.Dashboard;

/// <summary>
/// What the dashboard page polls (<c>GET {prefix}/stats</c>): this node's figures from
/// <see cref="CometEngine.GetStatistics"/> (as the admin API's <c>info</c>), the channels with subscribers,
/// the connections with the most messages waiting for an ack, and every node's summary when a
/// <see cref="ICometNodeDirectory"/> is registered (on Redis). Rates are the page's: it divides the
/// counters' growth by the time between two answers.
/// </summary>
internal sealed class DashboardData
{
    /// <summary>How many of the slowest connections are listed.</summary>
    internal const int SlowestShown = 10;

    /// <summary>How many channels are listed at most (those with the most subscribers).</summary>
    internal const int ChannelsShown = 50;

    private readonly CometContext _context;
    private readonly ICometNodeDirectory? _nodes;
    private long _resumes;

    internal DashboardData(CometContext context, ICometNodeDirectory? nodes)
    {
        _context = context;
        _nodes = nodes;
        // A session brought back after its connection was dropped connects again with Comet4J's events;
        // the engine marks such a connection's client version "resumed" (ConnectionLifecycle.Resume).
        context.Engine.On<ConnectEvent>(e =>
        {
            if (e.Connection?.ClientVersion == "resumed") Interlocked.Increment(ref _resumes);
        });
    }

    private CometEngine Engine => _context.Engine;

    internal async Task<IResult> StatsAsync(HttpContext http)
    {
        var stats = Engine.GetStatistics();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // The directory is read first, with a short timeout: if the backplane does not answer it, the cluster-wide
        // counts (synchronous calls that would each wait out the Redis client's timeout) give way to this node's own.
        var (nodes, nodesError) = await NodesAsync(stats, now, http.RequestAborted);
        var cluster = nodesError is null;
        var body = new JObject
        {
            ["node"] = Engine.NodeId,
            ["version"] = _context.Version,
            ["backplane"] = _nodes is null ? "in memory" : Engine.Backplane.GetType().Name,
            ["time"] = now,
            ["connections"] = stats.Connections,
            ["dying"] = stats.DyingConnections,
            ["byWorkStyle"] = JObject.FromObject(stats.ConnectionsByWorkStyle),
            ["users"] = cluster ? Engine.UserCount : Engine.Connections.Select(c => c.UserId).Where(u => u is not null).Distinct(StringComparer.Ordinal).Count(),
            ["counters"] = new JObject
            {
                ["connects"] = stats.Connects, ["drops"] = stats.Drops, ["expired"] = stats.Expired, ["messages"] = stats.MessagesSent,
                ["frames"] = stats.FramesWritten, ["bytes"] = stats.BytesWritten, ["gaps"] = stats.Gaps, ["resumes"] = Interlocked.Read(ref _resumes),
                ["limitHits"] = stats.LimitHits, ["pendingDropped"] = stats.PendingDropped, ["logTrimmed"] = stats.LogTrimmed,
            },
            ["log"] = new JObject { ["messages"] = stats.LogMessages, ["bytes"] = stats.LogBytes, ["lastSequence"] = stats.LastSequence },
            ["channels"] = Channels(cluster),
            ["slowest"] = Slowest(now),
            ["nodes"] = nodes,
        };
        if (nodesError is not null) body["warning"] = nodesError + " (users and channel counts are this node's own)";
        http.Response.Headers.CacheControl = "no-store";
        return Results.Text(body.ToString(Formatting.None), "application/json; charset=utf-8");
    }

    private JArray Channels(bool cluster)
    {
        var rows = new List<(string Name, int Connections, int Users, int History)>();
        var local = cluster ? null : LocalChannelCounts();
        foreach (var name in _context.Channels)
        {
            var (connections, users) = local is null ? Engine.GetChannelCounts(name) : local(name);
            var history = Engine.GetHistory(name).Count;
            if (connections > 0 || history > 0) rows.Add((name, connections, users, history));
        }
        return new JArray(rows.OrderByDescending(r => r.Connections).ThenBy(r => r.Name, StringComparer.Ordinal).Take(ChannelsShown)
            .Select(r => new JObject { ["name"] = r.Name, ["connections"] = r.Connections, ["users"] = r.Users, ["history"] = r.History }));
    }

    /// <summary>Counts from this node's connections alone (one pass): a connection that named no channel receives every channel.</summary>
    private Func<string, (int Connections, int Users)> LocalChannelCounts()
    {
        var connections = Engine.Connections;
        return name =>
        {
            var members = connections.Where(c => c.SubscribedChannels is not { } named || named.Contains(name)).ToList();
            return (members.Count, members.Select(c => c.UserId).Where(u => u is not null).Distinct(StringComparer.Ordinal).Count());
        };
    }

    /// <summary>This node's connections with the most private messages waiting for an ack (then the oldest), one pass, no sort of them all.</summary>
    private JArray Slowest(long now)
    {
        var top = new List<(CometConnection Connection, int Pending, long Bytes)>(SlowestShown + 1);
        foreach (var connection in Engine.Connections)
        {
            var (pending, bytes) = CometHost.PendingOf(connection);
            if (top.Count == SlowestShown && !Before(pending, connection, top[^1])) continue;
            var at = top.FindIndex(t => Before(pending, connection, t));
            top.Insert(at < 0 ? top.Count : at, (connection, pending, bytes));
            if (top.Count > SlowestShown) top.RemoveAt(top.Count - 1);
        }
        return new JArray(top.Select(t => new JObject
        {
            ["cid"] = t.Connection.Id,
            ["user"] = t.Connection.UserId,
            ["workStyle"] = t.Connection.WorkStyle,
            ["state"] = t.Connection.State.ToString(),
            ["pending"] = t.Pending,
            ["pendingBytes"] = t.Bytes,
            ["ageSeconds"] = Math.Max(0, (now - t.Connection.ConnectedAt.ToUnixTimeMilliseconds()) / 1000),
        }));
    }

    private static bool Before(int pending, CometConnection connection, (CometConnection Connection, int Pending, long Bytes) other) =>
        pending > other.Pending || (pending == other.Pending && connection.ConnectedAt < other.Connection.ConnectedAt);

    /// <summary>Every node's summary (on Redis), or this node's alone; an unreachable directory is said, not thrown.</summary>
    private async Task<(JArray Nodes, string? Error)> NodesAsync(CometStatistics stats, long now, CancellationToken cancellationToken)
    {
        var own = new JObject
        {
            ["node"] = Engine.NodeId, ["connections"] = stats.Connections, ["byWorkStyle"] = JObject.FromObject(stats.ConnectionsByWorkStyle),
            ["messages"] = stats.MessagesSent, ["frames"] = stats.FramesWritten, ["gaps"] = stats.Gaps, ["at"] = now,
        };
        if (_nodes is null) return (new JArray(own), null);
        try
        {
            var summaries = await _nodes.ReadAsync(cancellationToken);
            var nodes = summaries.Select(JObject.Parse).OrderBy(n => (string?)n["node"], StringComparer.Ordinal).ToList();
            // This node's figures as of now rather than its last report (up to 2 s old).
            var index = nodes.FindIndex(n => (string?)n["node"] == Engine.NodeId);
            if (index >= 0) { own["redisConnected"] = nodes[index]["redisConnected"]; nodes[index] = own; }
            else nodes.Insert(0, own);
            return (new JArray(nodes), null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (new JArray(own), "the other nodes are unknown now: " + e.Message);
        }
    }
}
