using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Comet4Net.Tests.Shared;

/// <summary>
/// Debian's redis-server on a free loopback port, nothing saved to disk, for one test class. It can
/// be restarted empty on the same port (Redis losing what it held) and is stopped on dispose.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    public const string ServerPath = "/usr/bin/redis-server";
    private Process? _process;
    private readonly string? _dataDir;

    private RedisServer(int port, string? dataDir)
    {
        Port = port;
        _dataDir = dataDir;
    }

    public static bool IsAvailable => File.Exists(ServerPath);

    public int Port { get; }

    /// <summary>The StackExchange.Redis configuration string.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Starts a server; <paramref name="durable"/> keeps its data on disk (AOF, fsync always) across <see cref="StopAsync"/> and <see cref="StartAgainAsync"/>.</summary>
    public static async Task<RedisServer> StartAsync(bool durable = false)
    {
        if (!IsAvailable) throw new InvalidOperationException("redis-server is not installed: ./test.sh installs it (apt-get install redis-server).");
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var server = new RedisServer(port, durable ? Directory.CreateTempSubdirectory("comet-redis-").FullName : null);
        await server.LaunchAsync();
        return server;
    }

    private async Task LaunchAsync()
    {
        var start = new ProcessStartInfo(ServerPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var persistence = _dataDir is null
            ? new[] { "--appendonly", "no" }
            : new[] { "--appendonly", "yes", "--appendfsync", "always", "--dir", _dataDir };
        foreach (var arg in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--daemonize", "no", "--protected-mode", "yes" }.Concat(persistence))
            start.ArgumentList.Add(arg);
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"redis-server exited at once (code {_process.ExitCode}).");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(25);
            }
        }
    }

    /// <summary>Kills the server and starts an empty one on the same port.</summary>
    public async Task RestartEmptyAsync()
    {
        Stop();
        if (_dataDir is not null) foreach (var file in Directory.EnumerateFileSystemEntries(_dataDir)) { if (File.Exists(file)) File.Delete(file); else Directory.Delete(file, true); }
        await LaunchAsync();
    }

    /// <summary>Kills the server (Redis unreachable until <see cref="StartAgainAsync"/>).</summary>
    public Task StopAsync()
    {
        Stop();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Freezes the server (SIGSTOP): connections stay open but nothing is answered, as in a long
    /// latency spike or a paused VM, until <see cref="Thaw"/>.
    /// </summary>
    public void Freeze() => Signal("STOP");

    /// <summary>Lets a frozen server go on (SIGCONT).</summary>
    public void Thaw() => Signal("CONT");

    private void Signal(string signal)
    {
        if (_process is null) throw new InvalidOperationException("redis-server is not running.");
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString()])!;
        kill.WaitForExit(5000);
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -{signal} failed ({kill.ExitCode}).");
    }

    /// <summary>Starts the server again on the same port (with its data, if durable).</summary>
    public Task StartAgainAsync() => LaunchAsync();

    private void Stop()
    {
        if (_process is null) return;
        try { if (!_process.HasExited) { _process.Kill(entireProcessTree: true); _process.WaitForExit(5000); } } catch (InvalidOperationException) { }
        _process.Dispose();
        _process = null;
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        if (_dataDir is not null) try { Directory.Delete(_dataDir, true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}
