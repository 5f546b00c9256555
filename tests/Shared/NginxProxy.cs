using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Comet4Net.Tests.Shared;

/// <summary>
/// A real nginx (Debian's <c>/usr/sbin/nginx</c>) in front of a server, run as a child process in the
/// foreground with the simplest reverse-proxy configuration a user would copy:
/// <c>location / { proxy_pass http://127.0.0.1:port; }</c> and nothing about buffering, so nginx
/// keeps its defaults (response buffering on, HTTP/1.0 to the upstream); or with a site of the
/// caller's (a sample's nginx file, <see cref="StartAsync(Func{int, string}, CancellationToken)"/>). Its pid file, logs and temp
/// paths live in a temp directory of its own, so it runs (also as root) without touching /var or /etc.
/// </summary>
public sealed class NginxProxy : IAsyncDisposable
{
    public const string NginxPath = "/usr/sbin/nginx";

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(15);

    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _output;

    private NginxProxy(Process process, string directory, StringBuilder output, int port)
    {
        _process = process;
        _directory = directory;
        _output = output;
        Port = port;
        Url = $"http://127.0.0.1:{port}";
    }

    /// <summary>True when the nginx binary is installed.</summary>
    public static bool IsAvailable => File.Exists(NginxPath);

    /// <summary>nginx's address (<c>http://127.0.0.1:port</c>, no trailing slash), to give to clients.</summary>
    public string Url { get; }

    public int Port { get; }

    /// <summary>The temp directory holding nginx.conf, error.log and the temp paths.</summary>
    public string Directory => _directory;

    /// <summary>What nginx has written to its error log so far.</summary>
    public string ErrorLog => ReadErrorLog(_directory);

    /// <summary>Starts nginx proxying to <paramref name="upstream"/> (scheme, host and port are used) and waits until it accepts connections.</summary>
    public static Task<NginxProxy> StartAsync(Uri upstream, CancellationToken cancellationToken = default)
    {
        var target = $"{upstream.Scheme}://{upstream.Authority}";
        return StartAsync(port => $$"""
                server {
                    listen 127.0.0.1:{{port}};

                    location / {
                        proxy_pass {{target}};
                    }
                }
            """, cancellationToken);
    }

    /// <summary>
    /// Starts nginx with <paramref name="site"/> (what goes inside <c>http { }</c>, as a sites-enabled file:
    /// upstreams, maps, servers), given the free port it must listen on (<c>listen 127.0.0.1:port;</c>),
    /// and waits until it accepts connections there.
    /// </summary>
    public static async Task<NginxProxy> StartAsync(Func<int, string> site, CancellationToken cancellationToken = default)
    {
        if (!IsAvailable) throw new InvalidOperationException($"nginx is not installed ({NginxPath} not found).");
        // The free port is found by binding port 0 and letting it go, so another process may take it
        // before nginx binds it: then nginx fails with "Address already in use" and we try another.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(site, cancellationToken);
            }
            catch (NginxStartException e) when (attempt < 3 && e.Message.Contains("Address already in use", StringComparison.Ordinal))
            {
            }
        }
    }

    private static async Task<NginxProxy> StartOnceAsync(Func<int, string> site, CancellationToken cancellationToken)
    {
        var port = FreePort();
        var directory = Path.Combine(Path.GetTempPath(), "comet4net-nginx-" + Guid.NewGuid().ToString("N"));
        // 0755, not the 0700 of a usual temp directory: nginx's workers run as another user ("nobody")
        // when the master runs as root, and they must reach the temp paths inside.
        if (OperatingSystem.IsWindows()) System.IO.Directory.CreateDirectory(directory);
        else System.IO.Directory.CreateDirectory(directory,
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var config = Path.Combine(directory, "nginx.conf");
        var errorLog = Path.Combine(directory, "error.log");
        await File.WriteAllTextAsync(config, Config(directory, site(port)), cancellationToken);

        var output = new StringBuilder();
        var info = new ProcessStartInfo(NginxPath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
        };
        foreach (var argument in new[] { "-p", directory + "/", "-c", config, "-e", errorLog, "-g", "daemon off;" }) info.ArgumentList.Add(argument);
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        try
        {
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }
        catch
        {
            process.Dispose();
            DeleteDirectory(directory);
            throw;
        }

        var proxy = new NginxProxy(process, directory, output, port);
        try
        {
            await proxy.WaitUntilReadyAsync(cancellationToken);
            return proxy;
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }
    }

    /// <summary>The whole configuration: temp paths and pid in <paramref name="directory"/>, and the site.</summary>
    private static string Config(string directory, string site)
    {
        string P(string name) => Path.Combine(directory, name);
        var version = NginxBuild();
        var temp = new StringBuilder();
        temp.AppendLine($"    client_body_temp_path {P("client_body_temp")};");
        temp.AppendLine($"    proxy_temp_path {P("proxy_temp")};");
        // Only for the modules this nginx has: an unknown directive stops it.
        if (!version.Contains("--without-http_fastcgi_module", StringComparison.Ordinal)) temp.AppendLine($"    fastcgi_temp_path {P("fastcgi_temp")};");
        if (!version.Contains("--without-http_uwsgi_module", StringComparison.Ordinal)) temp.AppendLine($"    uwsgi_temp_path {P("uwsgi_temp")};");
        if (!version.Contains("--without-http_scgi_module", StringComparison.Ordinal)) temp.AppendLine($"    scgi_temp_path {P("scgi_temp")};");
        return $$"""
            worker_processes 1;
            pid {{P("nginx.pid")}};
            error_log {{P("error.log")}} warn;

            events {
                worker_connections 1024;
            }

            http {
                access_log off;
            {{temp.ToString().TrimEnd()}}

            {{site.TrimEnd()}}
            }

            """;
    }

    private static string? _build;

    /// <summary>The output of <c>nginx -V</c> (its configure arguments).</summary>
    private static string NginxBuild()
    {
        if (_build is not null) return _build;
        try
        {
            using var process = Process.Start(new ProcessStartInfo(NginxPath, "-V")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit(5000);
            return _build = stdout + stderr.GetAwaiter().GetResult();
        }
        catch (Exception)
        {
            return _build = "";
        }
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited) throw new NginxStartException($"nginx exited with code {_process.ExitCode} before accepting connections.\n{Diagnostics()}");
            using (var client = new TcpClient(AddressFamily.InterNetwork))
            {
                try
                {
                    using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    attempt.CancelAfter(TimeSpan.FromSeconds(1));
                    await client.ConnectAsync(IPAddress.Loopback, Port, attempt.Token);
                    // Connected: make sure it is our nginx that listens, not whoever else took the port.
                    if (!_process.HasExited) return;
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                }
            }
            if (deadline.Elapsed > ReadyTimeout)
                throw new NginxStartException($"nginx did not accept connections on 127.0.0.1:{Port} within {ReadyTimeout.TotalSeconds:0} s.\n{Diagnostics()}");
            await Task.Delay(25, cancellationToken);
        }
    }

    private string Diagnostics()
    {
        string output;
        lock (_output) output = _output.ToString();
        return $"error.log:\n{ReadErrorLog(_directory)}\noutput:\n{output}";
    }

    private static string ReadErrorLog(string directory)
    {
        try
        {
            var path = Path.Combine(directory, "error.log");
            if (!File.Exists(path)) return "(no error.log)";
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (IOException e)
        {
            return $"(error.log unreadable: {e.Message})";
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    private static void DeleteDirectory(string directory)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (System.IO.Directory.Exists(directory)) System.IO.Directory.Delete(directory, recursive: true);
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>Kills nginx (master and workers) and deletes its temp directory.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
        }
        finally
        {
            _process.Dispose();
            DeleteDirectory(_directory);
        }
    }

    private sealed class NginxStartException(string message) : Exception(message);
}
