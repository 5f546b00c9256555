using System.Collections.Concurrent;
using System.Diagnostics;
using Comet4Net.Events;
using Comet4Net.Listeners;

namespace Comet4Net.Samples.Chat;

/// <summary>The talker's constants, as in Comet4J's demo.</summary>
public static class Talker
{
    /// <summary>The one application channel.</summary>
    public const string Channel = "talker";

    /// <summary>"HH:mm", the demo's transtime.</summary>
    public static string Now() => DateTime.Now.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// Names given on this node: connection id → user name (the demo's AppStore). On several nodes a
/// connection's name is also its user id, which every node knows (the online list comes from the engine).
/// </summary>
public sealed class AppStore
{
    private readonly ConcurrentDictionary<string, string> _names = new(StringComparer.Ordinal);

    public void Put(string id, string name) => _names[id] = name;

    public string? Get(string id) => _names.TryGetValue(id, out var n) ? n : null;

    public void Remove(string id) => _names.TryRemove(id, out _);

    public IReadOnlyList<KeyValuePair<string, string>> All() => _names.ToArray();
}

/// <summary>The user name from the userName cookie (URL-decoded), as Comet4J's demo read it.</summary>
internal static class Names
{
    internal static string FromCookie(ICometRequest request) => FromCookie(request.Cookie("userName"));

    internal static string FromCookie(string? cookie)
    {
        var raw = cookie ?? "";
        string name;
        try { name = Uri.UnescapeDataString(raw.Replace('+', ' ')); }
        catch (UriFormatException) { name = raw; }
        name = name.Trim();
        return name.Length > 50 ? name[..50] : name;
    }
}

/// <summary>Before connect: the connection belongs to the user its name says (SendToUser, presence).</summary>
public sealed class NameListener : BeforeConnectListener
{
    public override bool HandleEvent(BeforeConnectEvent e)
    {
        var name = Names.FromCookie(e.Request);
        if (name.Length > 0) e.Connection!.UserId = name;
        return true;
    }
}

/// <summary>Pages may publish only "typing" on the talker channel; the server puts the sender's name in it.</summary>
public sealed class TypingListener(AppStore store) : BeforePublishListener
{
    public override bool HandleEvent(BeforePublishEvent e)
    {
        if (e.Event != "typing")
        {
            e.Refuse("Only typing notices may be published here.");
            return false;
        }
        e.Data = new Newtonsoft.Json.Linq.JObject { ["id"] = e.Connection!.Id, ["name"] = store.Get(e.Connection.Id) ?? e.Connection.UserId };
        return true;
    }
}

/// <summary>On connect: remember the user's name (from the userName cookie) and tell everyone ("up").</summary>
public sealed class JoinListener(AppStore store) : ConnectListener
{
    public override bool HandleEvent(ConnectEvent e)
    {
        var connection = e.Connection!;
        var name = Names.FromCookie(connection.Request);
        store.Put(connection.Id, name);
        e.Engine.SendToAll(Talker.Channel, new { type = "up", id = connection.Id, name, transtime = Talker.Now() });
        return true;
    }
}

/// <summary>On drop (page closed, or expired after ConnExpires): forget the user and tell everyone ("down").</summary>
public sealed class LeftListener(AppStore store) : DropListener
{
    public override bool HandleEvent(DropEvent e)
    {
        var id = e.Connection!.Id;
        var name = store.Get(id) ?? e.Connection.UserId; // the node that drops it may not be the one it connected to
        store.Remove(id);
        if (e.Reason != DropReason.Shutdown)
            e.Engine.SendToAll(Talker.Channel, new { type = "down", id, name, transtime = Talker.Now() });
        return true;
    }
}

/// <summary>
/// Every 5 seconds: the connection count, and this node's memory and uptime, to everyone ("health"). On
/// several nodes each node sends its own, so the count is the cluster's (the channel's connections as
/// presence keeps them, the same whichever node reads it) and <c>node</c> says whose memory and uptime these are.
/// </summary>
public sealed class HealthSender(CometEngine engine) : BackgroundService
{
    private readonly DateTime _startup = DateTime.UtcNow;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // An event within the channel: Comet4J pages still see it on "talker" (type "health"),
                // Comet4Net pages listen on "talker.health", and it stays out of the history.
                engine.SendToAll(Talker.Channel, "health", Health(ClusterConnections()));
            }
        }
        catch (OperationCanceledException)
        {
            // The host is going away, also when it failed to start (its error is the one to read).
        }
    }

    /// <summary>
    /// Connections on the chat channel across the cluster (every page receives it), or null when a backplane
    /// says it cannot answer now (the page then keeps the count it shows). Comet4Net.Redis does not say so: while
    /// Redis is unreachable it counts what it could read (logged as event 301), so the header may drop meanwhile.
    /// </summary>
    public int? ClusterConnections()
    {
        try
        {
            return engine.GetChannelCounts(Talker.Channel).Connections;
        }
        catch (Comet4Net.Backplane.CometBackplaneUnavailableException)
        {
            return null;
        }
    }

    public object Health(int? connections)
    {
        const double mb = 1024 * 1024;
        var gc = GC.GetGCMemoryInfo();
        var process = Process.GetCurrentProcess();
        var total = process.WorkingSet64;
        var used = GC.GetTotalMemory(false);
        var max = gc.TotalAvailableMemoryBytes;
        var up = DateTime.UtcNow - _startup;
        return new
        {
            type = "health",
            totalMemory = Math.Round(total / mb, 1),
            freeMemory = Math.Round(Math.Max(0, total - used) / mb, 1),
            maxMemory = Math.Round(max / mb, 1),
            usedMemory = Math.Round(used / mb, 1),
            connectorCount = connections,
            node = engine.NodeId,
            startup = $"{(int)up.TotalDays}d {up.Hours}h {up.Minutes}m",
        };
    }
}
