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
        var (nodes, nodesError) = await NodesAsync(stats, now, http.RequestAborted);
        var body = new JObject
        {
            ["node"] = Engine.NodeId,
            ["version"] = _context.Version,
            ["backplane"] = _nodes is null ? "in memory" : Engine.Backplane.GetType().Name,
            ["time"] = now,
            ["connections"] = stats.Connections,
            ["dying"] = stats.DyingConnections,
            ["byWorkStyle"] = JObject.FromObject(stats.ConnectionsByWorkStyle),
            ["users"] = Engine.UserCount,
            ["counters"] = new JObject
            {
                ["connects"] = stats.Connects, ["drops"] = stats.Drops, ["expired"] = stats.Expired, ["messages"] = stats.MessagesSent,
                ["frames"] = stats.FramesWritten, ["bytes"] = stats.BytesWritten, ["gaps"] = stats.Gaps, ["resumes"] = Interlocked.Read(ref _resumes),
                ["limitHits"] = stats.LimitHits, ["pendingDropped"] = stats.PendingDropped, ["logTrimmed"] = stats.LogTrimmed,
            },
            ["log"] = new JObject { ["messages"] = stats.LogMessages, ["bytes"] = stats.LogBytes, ["lastSequence"] = stats.LastSequence },
            ["channels"] = Channels(),
            ["slowest"] = Slowest(now),
            ["nodes"] = nodes,
        };
        if (nodesError is not null) body["nodesError"] = nodesError;
        http.Response.Headers.CacheControl = "no-store";
        return Results.Text(body.ToString(Formatting.None), "application/json; charset=utf-8");
    }

    private JArray Channels()
    {
        var rows = new List<(string Name, int Connections, int Users, int History)>();
        foreach (var name in _context.Channels)
        {
            var (connections, users) = Engine.GetChannelCounts(name);
            var history = Engine.GetHistory(name).Count;
            if (connections > 0 || history > 0) rows.Add((name, connections, users, history));
        }
        return new JArray(rows.OrderByDescending(r => r.Connections).ThenBy(r => r.Name, StringComparer.Ordinal).Take(ChannelsShown)
            .Select(r => new JObject { ["name"] = r.Name, ["connections"] = r.Connections, ["users"] = r.Users, ["history"] = r.History }));
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
