using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Comet4Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Comet4Net.Browser.Tests;

/// <summary>One headless Debian Chromium for the assembly, driven by Playwright (no browser download).</summary>
[TestClass]
public static class BrowserFixture
{
    internal static IPlaywright Playwright { get; private set; } = null!;
    internal static IBrowser Browser { get; private set; } = null!;

    [AssemblyInitialize]
    public static async Task StartAsync(TestContext _)
    {
        var executable = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium";
        if (!File.Exists(executable))
            Assert.Fail($"Chromium is not installed at {executable}: run ./test.sh, which installs it (apt-get install chromium).");
        Assertions.SetDefaultExpectTimeout(10000);
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(LaunchOptions());
    }

    /// <summary>How the shared Chromium is launched (LifecycleBrowserTests launch their own from it, with more arguments).</summary>
    internal static BrowserTypeLaunchOptions LaunchOptions(params string[] more) => new()
    {
        ExecutablePath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium",
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", .. more],
    };

    [AssemblyCleanup]
    public static async Task StopAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        Playwright?.Dispose();
    }

    /// <summary>The repository root (where Comet4Net.sln is).</summary>
    internal static string RepositoryRoot() => Comet4Net.Tests.Shared.TestPaths.RepositoryRoot();

    private static int _nodes; // names the servers in COMET_DIAG_LOG lines

    /// <summary>A bare Comet4Net server (channels news and hello) with the test pages at /test/{file}.</summary>
    internal static async Task<WebApplication> StartCometAsync(Action<CometOptions> configure, int port = 0, Action<IServiceCollection>? services = null,
        Action<WebApplication>? map = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new DiagLogProvider("n" + Interlocked.Increment(ref _nodes)));
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddComet(o => { o.DrainTime = 0; configure(o); }, (context, _) => // stops at once unless a test sets DrainTime
        {
            context.RegisterChannel("news");
            context.RegisterChannel("hello");
        });
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapComet("/conn");
        MapTestPages(app);
        map?.Invoke(app);
        await app.StartAsync();
        return app;
    }

    private static void MapTestPages(WebApplication app)
    {
        var pages = Path.Combine(AppContext.BaseDirectory, "pages");
        app.MapGet("/test/{file}", (string file) =>
        {
            var path = Path.Combine(pages, Path.GetFileName(file));
            if (!File.Exists(path)) return Results.NotFound();
            return Results.File(path, file.EndsWith(".js", StringComparison.Ordinal) ? "application/javascript" : "text/html; charset=utf-8");
        });
    }

    /// <summary>Starts the chat sample on 127.0.0.1 with a port of its own.</summary>
    internal static async Task<WebApplication> StartChatAsync(Dictionary<string, string?>? settings = null, Action<WebApplication>? map = null)
    {
        var root = Path.Combine(RepositoryRoot(), "samples", "Chat");
        var app = Comet4Net.Samples.Chat.ChatServer.Create([], new WebApplicationOptions
        {
            ContentRootPath = root,
            WebRootPath = Path.Combine(root, "wwwroot"),
            EnvironmentName = "Production",
        }, builder =>
        {
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        });
        // The test pages (legacy connector double and friends) beside the sample's own.
        MapTestPages(app);
        map?.Invoke(app);
        await app.StartAsync();
        return app;
    }
}
