using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Comet4Net.Tests.Shared;

/// <summary>
/// A Redis Cluster of three masters and no replicas from Debian's redis-server, on free loopback
/// ports, nothing saved to disk: started with <c>redis-cli --cluster create</c>, one master can be
/// stopped and started again (empty: its slots are down meanwhile), and everything (processes, node
/// files) is removed on dispose.
/// </summary>
public sealed class RedisClusterServer : IAsyncDisposable
{
    private const string CliPath = "/usr/bin/redis-cli";
    private readonly string _dir;
    private readonly Process?[] _processes;

    private RedisClusterServer(int[] ports, string dir)
    {
        Ports = ports;
        _dir = dir;
        _processes = new Process?[ports.Length];
    }

    public int[] Ports { get; }

    /// <summary>The StackExchange.Redis configuration string: every master.</summary>
    public string Configuration => string.Join(",", Ports.Select(p => "127.0.0.1:" + p));

    /// <summary>Starts three masters, joins them into one cluster and waits until every one says <c>cluster_state:ok</c>.</summary>
    public static async Task<RedisClusterServer> StartAsync()
    {
        if (!RedisServer.IsAvailable || !File.Exists(CliPath)) throw new InvalidOperationException("redis-server is not installed: ./test.sh installs it (apt-get install redis-server).");
        var ports = new int[3];
        var listeners = new List<TcpListener>();
        for (var i = 0; i < ports.Length; i++)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            listeners.Add(listener);
            ports[i] = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        foreach (var listener in listeners) listener.Stop();
        // The cluster bus listens on port + 10000: pick again if one of those is taken.
        if (ports.Any(p => p + 10000 > 65535 || !IsFree(p + 10000))) return await StartAsync();
        var server = new RedisClusterServer(ports, Directory.CreateTempSubdirectory("comet-redis-cluster-").FullName);
        try
        {
            for (var i = 0; i < ports.Length; i++) await server.LaunchAsync(i);
            var create = await RunCliAsync(["--cluster", "create", .. ports.Select(p => "127.0.0.1:" + p), "--cluster-replicas", "0", "--cluster-yes"]);
            if (create.Code != 0) throw new InvalidOperationException("redis-cli --cluster create failed: " + create.Output);
            await server.WaitUntilOkAsync(TimeSpan.FromSeconds(20));
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private async Task LaunchAsync(int index)
    {
        var port = Ports[index];
        var start = new ProcessStartInfo(RedisServer.ServerPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
        {
            "--port", port.ToString(), "--bind", "127.0.0.1", "--daemonize", "no", "--protected-mode", "yes", "--dir", _dir,
            "--cluster-enabled", "yes", "--cluster-config-file", Path.Combine(_dir, $"nodes-{port}.conf"),
            "--cluster-node-timeout", "1000", "--cluster-require-full-coverage", "no",
            "--save", "", "--appendonly", "no",
        }) start.ArgumentList.Add(arg);
        var process = _processes[index] = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"redis-server on {port} exited at once (code {process.ExitCode}).");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(25);
            }
        }
    }

    /// <summary>Waits until every running master says the cluster is ok with every slot served.</summary>
    public async Task WaitUntilOkAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "";
        while (true)
        {
            var ok = true;
            for (var i = 0; i < Ports.Length && ok; i++)
            {
                if (_processes[i] is null) continue;
                var (_, info) = await RunCliAsync(["-p", Ports[i].ToString(), "cluster", "info"]);
                last = info;
                ok = info.Contains("cluster_state:ok", StringComparison.Ordinal) && info.Contains("cluster_slots_ok:16384", StringComparison.Ordinal);
            }
            if (ok) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The Redis Cluster did not become ok: " + last);
            await Task.Delay(100);
        }
    }

    /// <summary>Which master (an index into <see cref="Ports"/>) serves <paramref name="key"/>'s hash slot.</summary>
    public async Task<int> MasterOfAsync(string key)
    {
        var (_, slotText) = await RunCliAsync(["-p", Ports[0].ToString(), "cluster", "keyslot", key]);
        var slot = int.Parse(slotText.Trim());
        var (_, nodes) = await RunCliAsync(["-p", Ports[0].ToString(), "cluster", "nodes"]);
        foreach (var line in nodes.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            var port = int.Parse(parts[1].Split('@')[0].Split(':')[1]);
            foreach (var range in parts.Skip(8))
            {
                var bounds = range.Split('-');
                if (bounds[0].StartsWith('[')) continue;
                var low = int.Parse(bounds[0]);
                var high = bounds.Length > 1 ? int.Parse(bounds[1]) : low;
                if (slot >= low && slot <= high) return Array.IndexOf(Ports, port);
            }
        }
        throw new InvalidOperationException($"No master serves slot {slot}: {nodes}");
    }

    /// <summary>Kills one master: its slots are down (there are no replicas) until <see cref="StartAgainAsync"/>.</summary>
    public void Stop(int index)
    {
        var process = _processes[index];
        if (process is null) return;
        try { if (!process.HasExited) { process.Kill(entireProcessTree: true); process.WaitForExit(5000); } } catch (InvalidOperationException) { }
        process.Dispose();
        _processes[index] = null;
    }

    /// <summary>Starts a stopped master again (with its node file, so it rejoins with its slots, but empty) and waits until the cluster is ok.</summary>
    public async Task StartAgainAsync(int index)
    {
        await LaunchAsync(index);
        await WaitUntilOkAsync(TimeSpan.FromSeconds(20));
    }

    private static async Task<(int Code, string Output)> RunCliAsync(string[] args)
    {
        var start = new ProcessStartInfo(CliPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }

    public ValueTask DisposeAsync()
    {
        for (var i = 0; i < _processes.Length; i++) Stop(i);
        try { Directory.Delete(_dir, true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}
