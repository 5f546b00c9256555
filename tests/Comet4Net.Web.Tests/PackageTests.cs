using Comet4Net.Tests.Shared;
using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// What a .NET developer does with the NuGet packages: a new ASP.NET Core app, one
/// <c>dotnet add package Comet4Net.Web</c>, AddComet/MapComet, and a client that receives a push.
/// Runs after <c>dotnet build Comet4Net.sln</c>: the packages are made from that build (<c>--no-build</c>).
/// Needs nuget.org for the packages' own dependencies (Newtonsoft.Json).
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed partial class PackageTests
{
    public TestContext TestContext { get; set; } = null!;

    private const string AppProgram = """
        using Comet4Net;

        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddComet(
            options => options.WorkStyle = "auto",
            (context, services) => context.RegisterChannel("hello"));
        var app = builder.Build();
        app.MapComet("/conn");
        app.MapPost("/shout", (CometEngine engine, string text) => Results.Json(new { seq = engine.SendToAll("hello", new { text }) }));
        app.Run();
        """;

    [TestMethod]
    [TestCategory("package")]
    [Timeout(240_000, CooperativeCancellation = true)]
    public async Task A_new_web_app_adds_Comet4Net_Web_from_the_packages_serves_the_client_and_pushes()
    {
        var cancel = TestContext.CancellationToken;
        var repo = TestPaths.RepositoryRoot();
        // The configuration this test assembly (and so Comet4Net.Web beside it) was built in.
        var configuration = TestPaths.BuildConfiguration;
        // The version the packages carry (Directory.Build.props), without Source Link's "+commit".
        var version = typeof(Microsoft.AspNetCore.Builder.CometEndpointRouteBuilderExtensions).Assembly
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];

        var work = Directory.CreateTempSubdirectory("comet4net-package-").FullName;
        var feed = Path.Combine(work, "feed");
        var appDir = Path.Combine(work, "app");
        // The app restores into a packages folder of its own (NUGET_PACKAGES for every dotnet command run in
        // the app), never the global cache: a Comet4Net.Web 2.0.0 left there by an earlier run (or a build of
        // other sources) would be taken instead of the package just made, since NuGet never re-extracts a
        // version it already holds. A unique version per run would also avoid that, but it would leave a new
        // copy in the global cache every run and test a version nobody ships.
        var packages = Path.Combine(work, "packages");
        Process? app = null;
        var appOutput = new StringBuilder();
        try
        {
            foreach (var project in new[] { "Comet4Net.Core", "Comet4Net.Web" })
                await DotnetAsync(repo, null, TimeSpan.FromSeconds(90), cancel,
                    "pack", Path.Combine(repo, project, project + ".csproj"), "--no-build", "-c", configuration, "-o", feed);
            Assert.IsTrue(File.Exists(Path.Combine(feed, $"Comet4Net.Web.{version}.nupkg")),
                $"no Comet4Net.Web.{version}.nupkg in the feed: {string.Join(", ", Directory.GetFiles(feed).Select(Path.GetFileName))}");

            await DotnetAsync(work, packages, TimeSpan.FromSeconds(60), cancel, "new", "web", "-n", "SmokeApp", "-o", appDir, "--no-restore");
            // The temp feed and nuget.org; package source mapping makes Comet4Net.* come from the feed only.
            File.WriteAllText(Path.Combine(appDir, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="comet4net-local" value="{feed}" />
                    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
                  </packageSources>
                  <packageSourceMapping>
                    <packageSource key="comet4net-local"><package pattern="Comet4Net.*" /></packageSource>
                    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
                  </packageSourceMapping>
                </configuration>
                """);
            await DotnetAsync(appDir, packages, TimeSpan.FromSeconds(120), cancel, "add", "package", "Comet4Net.Web", "--version", version);
            Assert.IsTrue(Directory.Exists(Path.Combine(packages, "comet4net.web", version)), "Comet4Net.Web was not restored from the packages just made");
            Assert.IsTrue(Directory.Exists(Path.Combine(packages, "comet4net.core", version)), "Comet4Net.Core did not come with Comet4Net.Web");
            File.WriteAllText(Path.Combine(appDir, "Program.cs"), AppProgram);
            await DotnetAsync(appDir, packages, TimeSpan.FromSeconds(120), cancel, "build", "-c", "Debug");

            var dll = Path.Combine(appDir, "bin", "Debug", "net10.0", "SmokeApp.dll");
            var start = DotnetStartInfo(appDir, packages, dll, "--urls", "http://127.0.0.1:0");
            var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            app = new Process { StartInfo = start };
            DataReceivedEventHandler onLine = (_, e) =>
            {
                if (e.Data is null) return;
                lock (appOutput) appOutput.AppendLine(e.Data);
                if (ListeningLine().Match(e.Data) is { Success: true } m) listening.TrySetResult(m.Groups[1].Value);
            };
            app.OutputDataReceived += onLine;
            app.ErrorDataReceived += onLine;
            app.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("the app ended before listening"));
            app.EnableRaisingEvents = true;
            app.Start();
            app.BeginOutputReadLine();
            app.BeginErrorReadLine();
            string baseUrl;
            try
            {
                baseUrl = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30), cancel);
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
                Assert.Fail($"the app did not start listening ({e.Message}):\n{Output(appOutput)}");
                return;
            }

            using var http = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };

            // The browser client, exactly the repository's Comet4Net.Client.js/dist/comet4j.js (the bundle of src/).
            using (var script = await http.GetAsync("/comet4j.js", cancel))
            {
                Assert.AreEqual(HttpStatusCode.OK, script.StatusCode);
                Assert.AreEqual("application/javascript", script.Content.Headers.ContentType?.MediaType);
                var body = await script.Content.ReadAsStringAsync(cancel);
                Assert.Contains("JS.Engine", body);
                Assert.AreEqual(File.ReadAllText(Path.Combine(repo, "Comet4Net.Client.js", "dist", "comet4j.js")), body,
                    "/comet4j.js is not the repository's client script");
            }

            // A v2 connection (docs/protocol.md): conn, then long polls until the app's SendToAll arrives.
            var client = new V2Client(http);
            await client.ConnectAsync();
            CollectionAssert.Contains(client.ConnectData["channels"]!.Select(c => (string?)c).ToList(), "hello");
            using var pollTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            pollTimeout.CancelAfter(TimeSpan.FromSeconds(30));
            var received = Task.Run(async () =>
            {
                while (true)
                {
                    var (status, frames) = await client.PollAsync(pollTimeout.Token, ws: "lpool");
                    Assert.AreEqual(HttpStatusCode.OK, status, string.Join("\n", frames));
                    if (frames.FirstOrDefault(f => (string?)f["channel"] == "hello") is { } frame) return frame;
                }
            }, pollTimeout.Token);
            using (var shout = await http.PostAsync("/shout?text=" + Uri.EscapeDataString("hello from the package"), null, cancel))
                Assert.AreEqual(HttpStatusCode.OK, shout.StatusCode, await shout.Content.ReadAsStringAsync(cancel));
            JObject hello;
            try
            {
                hello = await received;
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                Assert.Fail("the message sent with SendToAll did not reach the v2 client within 30 s");
                return;
            }
            Assert.AreEqual("hello from the package", (string?)hello["data"]!["text"]);
            Assert.IsNotNull(hello["seq"]);
        }
        catch (Exception) when (app is not null)
        {
            TestContext.WriteLine("app output:\n" + Output(appOutput));
            throw;
        }
        finally
        {
            if (app is not null)
            {
                try { if (!app.HasExited) app.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                app.WaitForExit(10_000);
                app.Dispose();
            }
            try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();

    private static string Output(StringBuilder output)
    {
        lock (output) return output.ToString();
    }

    /// <summary>
    /// A dotnet command with a clean environment: no MSBuild variables inherited from the <c>dotnet test</c>
    /// that runs us, no build nodes or compiler server left running afterwards, and (for the app) its own
    /// packages folder.
    /// </summary>
    private static ProcessStartInfo DotnetStartInfo(string directory, string? packages, params string[] args)
    {
        var dotnet = Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        var info = new ProcessStartInfo(dotnet)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(key);
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        info.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        info.Environment["UseSharedCompilation"] = "false";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        if (packages is not null) info.Environment["NUGET_PACKAGES"] = packages;
        return info;
    }

    private static async Task DotnetAsync(string directory, string? packages, TimeSpan timeout, CancellationToken cancel, params string[] args)
    {
        using var process = new Process { StartInfo = DotnetStartInfo(directory, packages, args) };
        var output = new StringBuilder();
        DataReceivedEventHandler onLine = (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.OutputDataReceived += onLine;
        process.ErrorDataReceived += onLine;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            await process.WaitForExitAsync(CancellationToken.None);
            Assert.Fail($"dotnet {string.Join(' ', args)} took more than {timeout.TotalSeconds} s:\n{Output(output)}");
        }
        process.WaitForExit(); // the output events are all in
        Assert.AreEqual(0, process.ExitCode, $"dotnet {string.Join(' ', args)} failed:\n{Output(output)}");
    }
}
