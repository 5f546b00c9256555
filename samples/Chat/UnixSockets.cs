using System.Net.Sockets;

namespace Comet4Net.Samples.Chat;

/// <summary>
/// The chat on a UNIX socket (<c>--urls http://unix:/run/comet4net/chat.sock</c>, README "UNIX socket behind nginx").
/// Kestrel deletes the socket file when it stops, but not after a crash or <c>kill -9</c>, and it will
/// not listen over the file left behind ("address already in use"): this removes such a file first.
/// </summary>
public static class UnixSockets
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The socket paths of the configured URLs (<c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>Kestrel:Endpoints:*:Url</c>).</summary>
    public static IReadOnlyList<string> Paths(IConfiguration configuration)
    {
        var urls = (configuration[WebHostDefaults.ServerUrlsKey] ?? "")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Concat(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>());
        var paths = new List<string>();
        foreach (var url in urls)
        {
            var scheme = url.IndexOf("://unix:", StringComparison.OrdinalIgnoreCase);
            if (scheme < 0) continue;
            var path = url[(scheme + "://unix:".Length)..];
            // Kestrel's form is unix:/path, optionally followed by :/pathbase.
            var pathBase = path.IndexOf(":/", StringComparison.Ordinal);
            if (pathBase > 0) path = path[..pathBase];
            if (path.Length > 0 && path[0] != '@') paths.Add(path); // '@': an abstract socket has no file
        }
        return paths;
    }

    /// <summary>
    /// Deletes the file at each configured socket path that is left from a previous run: an empty file
    /// (a socket file always is) on which nobody answers. A socket another process still listens on, and
    /// a file with content, are left alone; Kestrel then fails to start, naming the address.
    /// </summary>
    public static void RemoveStale(IConfiguration configuration, ILogger logger)
    {
        foreach (var path in Paths(configuration))
        {
            var file = new FileInfo(path);
            if (!file.Exists || file.Length != 0) continue;
            if (Answers(path)) continue;
            file.Delete();
            logger.LogInformation("Removed {Path}, a UNIX socket left by a previous run that nobody listens on.", path);
        }
    }

    private static bool Answers(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = new CancellationTokenSource(ProbeTimeout);
        try
        {
            probe.ConnectAsync(new UnixDomainSocketEndPoint(path), timeout.Token).AsTask().GetAwaiter().GetResult();
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return false; // the file is there and nobody listens: stale
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return true; // no permission, or a listener too busy to accept: not ours to delete
        }
    }
}
