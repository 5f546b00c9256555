using System.Diagnostics;
using Comet4Net.Tests.Shared;

namespace Comet4Net.Web.Tests;

/// <summary>
/// What an operator sees when a setting is bad: the chat sample run as a process, as from a shell or a
/// systemd unit, with one bad <c>Comet__</c> variable.
/// </summary>
[TestClass]
public sealed class StartupExitTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    [DataRow("Comet__WorkStyle", "poll", "Comet:WorkStyle is 'poll', which is not valid: allowed is one of auto, stream, lpool, sse, websocket.")]
    [DataRow("Comet__Language", "fr", "Comet:Language is 'fr', which is not valid: allowed is zh or en.")]
    [DataRow("Comet__Timeout", "a minute", "Failed to convert configuration value 'a minute' at 'Comet:Timeout' to type 'System.Int32'.")]
    public async Task A_bad_setting_ends_the_app_with_one_error_line_and_exit_code_1(string variable, string value, string message)
    {
        var (exitCode, output) = await RunChatAsync(variable, value, TestContext.CancellationToken);

        Assert.AreEqual(1, exitCode, output);
        var errors = output.Split('\n').Where(l => l.StartsWith("fail:", StringComparison.Ordinal)).ToList();
        Assert.HasCount(1, errors, output);
        Assert.Contains("The app did not start: " + message, errors[0]);
        Assert.DoesNotContain("Unhandled exception", output);
        Assert.DoesNotContain("   at ", output, "no stack trace");
        Assert.DoesNotContain("Now listening on", output, "nothing was served");
    }

    /// <summary>Runs the built chat sample with <paramref name="variable"/> set and returns its exit code and everything it wrote.</summary>
    private static async Task<(int ExitCode, string Output)> RunChatAsync(string variable, string value, CancellationToken token)
    {
        var root = TestPaths.RepositoryRoot();
        var dll = Path.Combine(root, "samples", "Chat", "bin", TestPaths.BuildConfiguration, "net10.0", "Chat.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.Combine(root, "samples", "Chat"),
        };
        start.ArgumentList.Add(dll);
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment[variable] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(token);
        var stderr = process.StandardError.ReadToEndAsync(token);
        try
        {
            await process.WaitForExitAsync(token).WaitAsync(TimeSpan.FromSeconds(45), token);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new AssertFailedException("The chat sample with a bad setting did not exit: " + await stdout + await stderr);
        }
        return (process.ExitCode, (await stdout + await stderr).Replace("\r", ""));
    }
}
