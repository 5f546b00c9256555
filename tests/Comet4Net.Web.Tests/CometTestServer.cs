using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Comet4Net.Web.Tests;

/// <summary>A real Kestrel server on 127.0.0.1 with a port of its own (or on a UNIX socket), running Comet4Net.</summary>
internal sealed class CometTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private CometTestServer(WebApplication app, string baseUrl, string? unixSocket)
    {
        _app = app;
        BaseUrl = baseUrl;
        UnixSocket = unixSocket;
        Context = app.Services.GetRequiredService<CometContext>();
        Client = NewClient();
    }

    /// <summary>The server's address for HttpClient; on a UNIX socket <c>http://localhost</c>, and <see cref="NewClient"/> connects to the socket.</summary>
    internal string BaseUrl { get; }

    /// <summary>The socket's path when the server listens on a UNIX socket, else null.</summary>
    internal string? UnixSocket { get; }

    internal CometContext Context { get; }

    internal CometEngine Engine => Context.Engine;

    internal HttpClient Client { get; }

    /// <summary>Stops the host as SIGTERM does (drain, then the server stops); DisposeAsync after it is quick.</summary>
    internal Task StopAsync(CancellationToken token = default) => _app.StopAsync(token);

    internal static async Task<CometTestServer> StartAsync(Action<CometOptions>? configure = null, Action<CometContext>? setup = null,
        Action<WebApplication>? map = null, Action<IServiceCollection>? services = null, Action<IEndpointConventionBuilder>? conventions = null,
        Action<WebApplication>? middleware = null, string? unixSocket = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(unixSocket is null ? "http://127.0.0.1:0" : $"http://unix:{unixSocket}");
        builder.Services.AddComet(o =>
        {
            o.AllowLegacyClients = true;
            o.DrainTime = 0; // a test server stops at once; drain tests set their own
            configure?.Invoke(o);
        }, (context, _) =>
        {
            context.RegisterChannel("hello");
            context.RegisterChannel("news");
            setup?.Invoke(context);
        });
        services?.Invoke(builder.Services);
        var app = builder.Build();
        middleware?.Invoke(app);
        var comet = app.MapComet("/conn");
        conventions?.Invoke(comet);
        map?.Invoke(app);
        await app.StartAsync();
        return new CometTestServer(app, unixSocket is null ? app.Urls.First() : "http://localhost", unixSocket);
    }

    /// <summary>A client; with <paramref name="localAddress"/> its connections come from that loopback address (127.0.0.2 …).</summary>
    internal HttpClient NewClient(string? localAddress = null, int maxConnections = 64)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), MaxConnectionsPerServer = maxConnections };
        if (UnixSocket is { } path)
        {
            handler.ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), token);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }
        else if (localAddress is not null)
        {
            handler.ConnectCallback = async (context, token) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
                await socket.ConnectAsync(context.DnsEndPoint, token);
                return new NetworkStream(socket, ownsSocket: true);
            };
        }
        return new HttpClient(handler) { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}

internal static class Wait
{
    /// <summary>Waits until <paramref name="condition"/> holds, failing after <paramref name="seconds"/>.</summary>
    internal static async Task UntilAsync(Func<bool> condition, double seconds = 10, string? what = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"Timed out after {seconds}s waiting for {what ?? "a condition"}.");
            await Task.Delay(20);
        }
    }
}
