using System.Diagnostics;
using System.Reflection;
using System.Text;
using Comet4Net.Tests.Shared;
using Comet4Net.Web.Tests;

namespace Comet4Net.Client.Tests;

/// <summary>
/// What a .NET developer does with the NuGet package: a new console app, one
/// <c>dotnet add package Comet4Net.Client</c>, and a push received from a running server. Runs after
/// <c>dotnet build Comet4Net.sln</c>: the package is made from that build (<c>--no-build</c>). Needs
/// nuget.org for the package's own dependency (Microsoft.Extensions.Logging.Abstractions).
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class PackageTests
{
    public TestContext TestContext { get; set; } = null!;

    private const string AppProgram = """
        using Comet4Net.Client;

        await using var client = new CometClient(new Uri(args[0]), new CometClientOptions { Channels = ["hello"] });
        var first = new TaskCompletionSource<string>();
        client.On("hello", message => first.TrySetResult(message.Data.GetProperty("text").GetString()!));
        await client.StartAsync();
        Console.WriteLine("started " + client.ConnectionId);
        Console.WriteLine("received " + await first.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        """;

    [TestMethod]
    [TestCategory("package")]
    [Timeout(300_000, CooperativeCancellation = true)]
    public async Task A_new_console_app_adds_Comet4Net_Client_from_the_package_and_receives_a_push()
    {
        var cancel = TestContext.CancellationToken;
        var repo = TestPaths.RepositoryRoot();
        var configuration = TestPaths.BuildConfiguration;
        var version = typeof(CometClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];
        var work = Directory.CreateTempSubdirectory("comet4net-client-package-").FullName;
        var feed = Path.Combine(work, "feed");
        var appDir = Path.Combine(work, "app");
        // Its own packages folder: a Comet4Net.Client of this version left in the global cache would be taken instead.
        var packages = Path.Combine(work, "packages");
        try
        {
            await DotnetAsync(repo, null, TimeSpan.FromSeconds(90), cancel,
                "pack", Path.Combine(repo, "Comet4Net.Client", "Comet4Net.Client.csproj"), "--no-build", "-c", configuration, "-o", feed);
            Assert.IsTrue(File.Exists(Path.Combine(feed, $"Comet4Net.Client.{version}.nupkg")),
                $"no Comet4Net.Client.{version}.nupkg: {string.Join(", ", Directory.GetFiles(feed).Select(Path.GetFileName))}");
            using (var zip = System.IO.Compression.ZipFile.OpenRead(Path.Combine(feed, $"Comet4Net.Client.{version}.nupkg")))
            {
                var names = zip.Entries.Select(e => e.FullName).ToList();
                CollectionAssert.Contains(names, "README.md");
                CollectionAssert.Contains(names, "lib/net10.0/Comet4Net.Client.xml");
                var nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open()).ReadToEnd();
                Assert.DoesNotContain("Microsoft.AspNetCore", nuspec, "the client must not depend on ASP.NET Core");
                Assert.DoesNotContain("Comet4Net.Core", nuspec, "the client must not depend on the server's core");
            }

            await DotnetAsync(work, packages, TimeSpan.FromSeconds(60), cancel, "new", "console", "-n", "ClientApp", "-o", appDir, "--no-restore");
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
            await DotnetAsync(appDir, packages, TimeSpan.FromSeconds(120), cancel, "add", "package", "Comet4Net.Client", "--version", version);
            Assert.IsTrue(Directory.Exists(Path.Combine(packages, "comet4net.client", version)), "Comet4Net.Client was not restored from the package just made");
            File.WriteAllText(Path.Combine(appDir, "Program.cs"), AppProgram);
            await DotnetAsync(appDir, packages, TimeSpan.FromSeconds(120), cancel, "build", "-c", "Debug");

            await using var server = await CometTestServer.StartAsync();
            var output = new StringBuilder();
            using var app = new Process { StartInfo = DotnetStartInfo(appDir, packages, Path.Combine(appDir, "bin", "Debug", "net10.0", "ClientApp.dll"), server.BaseUrl + "/conn") };
            app.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            app.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            app.Start();
            app.BeginOutputReadLine();
            app.BeginErrorReadLine();
            try
            {
                await Wait.UntilAsync(() => Text(output).Contains("started "), 60, "the app to connect:\n" + Text(output));
                server.Engine.SendToAll("hello", new { text = "hello from the package" });
                await app.WaitForExitAsync(cancel).WaitAsync(TimeSpan.FromSeconds(60), cancel);
                app.WaitForExit();
                Assert.AreEqual(0, app.ExitCode, Text(output));
                Assert.Contains("received hello from the package", Text(output));
            }
            finally
            {
                try { if (!app.HasExited) app.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            }
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static string Text(StringBuilder output)
    {
        lock (output) return output.ToString();
    }

    /// <summary>A dotnet command with a clean environment (no MSBuild variables of the test run, no build servers left behind).</summary>
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
        if (packages is not null) info.Environment["NUGET_PACKAGES"] = packages;
        return info;
    }

    private static async Task DotnetAsync(string directory, string? packages, TimeSpan timeout, CancellationToken cancel, params string[] args)
    {
        using var process = new Process { StartInfo = DotnetStartInfo(directory, packages, args) };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
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
            Assert.Fail($"dotnet {string.Join(' ', args)} took more than {timeout.TotalSeconds} s:\n{Text(output)}");
        }
        process.WaitForExit();
        Assert.AreEqual(0, process.ExitCode, $"dotnet {string.Join(' ', args)} failed:\n{Text(output)}");
    }
}
