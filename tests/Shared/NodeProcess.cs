using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Comet4Net.Tests.Shared;

/// <summary>
/// The chat sample run as a process of its own (a real node that can be killed with SIGKILL: no
/// shutdown, no goodbye to Redis), listening on a free loopback port.
/// </summary>
internal sealed partial class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _output;

    private NodeProcess(Process process, string baseUrl, System.Text.StringBuilder output)
    {
        _process = process;
        _output = output;
        BaseUrl = baseUrl;
    }

    internal string BaseUrl { get; }

    internal bool HasExited => _process.HasExited;

    /// <summary>What the process wrote (stdout and stderr, as lines) so far: its warnings, when a test fails.</summary>
    internal string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <param name="fileLimit">If given, the process runs under <c>ulimit -n</c> of this many open files.</param>
    internal static async Task<NodeProcess> StartChatAsync(IDictionary<string, string> settings, TimeSpan timeout, int? fileLimit = null)
    {
        var root = TestPaths.RepositoryRoot();
        var dll = Path.Combine(root, "samples", "Chat", "bin", TestPaths.BuildConfiguration, "net10.0", "Chat.dll");
        if (!File.Exists(dll)) throw new InvalidOperationException(dll + " is missing: build the test project first (it references samples/Chat).");
        var start = new ProcessStartInfo(fileLimit is null ? "dotnet" : "/bin/bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.Combine(root, "samples", "Chat"),
        };
        if (fileLimit is { } files)
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"ulimit -n {files} && exec dotnet \"$0\"");
        }
        start.ArgumentList.Add(dll);
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        foreach (var (key, value) in settings) start.Environment[key] = value;
        var process = Process.Start(start)!;
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Text.StringBuilder();
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (output) output.AppendLine(line);
            if (ListeningOn().Match(line) is { Success: true } m) listening.TrySetResult(m.Groups[1].Value);
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            return new NodeProcess(process, await listening.Task.WaitAsync(timeout), output);
        }
        catch (TimeoutException)
        {
            Kill(process);
            lock (output) throw new InvalidOperationException("The chat sample did not start: " + output);
        }
    }

    /// <summary>SIGTERM, as a service manager or a container runtime stops a node; then how long it took to exit (null: not within <paramref name="timeout"/>).</summary>
    internal async Task<TimeSpan?> TerminateAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])!) await kill.WaitForExitAsync();
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
            return clock.Elapsed;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    internal int ExitCode => _process.ExitCode;

    /// <summary>SIGTERM, as a deploy stops a node (systemd, Kubernetes, docker stop): the host shuts down (and drains).</summary>
    internal void Terminate()
    {
        if (kill(_process.Id, 15) != 0) throw new InvalidOperationException("kill -TERM " + _process.Id + " failed: errno " + Marshal.GetLastPInvokeError());
    }

    /// <summary>Waits for the process to end; false if it did not within <paramref name="timeout"/>.</summary>
    internal async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    /// <summary>SIGKILL: the process ends at once, as in a crash or an OOM kill.</summary>
    internal void Kill() => Kill(_process);

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}
