using System.Diagnostics;
using System.Net;
using Comet4Net.Tests.Shared;
using Comet4Net.Web.Tests;

namespace Comet4Net.Client.Tests.Functional;

/// <summary>
/// The headline: <c>samples/Console</c>, run as a process as a user runs it, receives 300 numbered messages
/// exactly once and in order through a proxy that cuts every TCP connection within a few seconds and
/// refuses everything for 10 s, on its default style and forced to SSE and long polling.
/// </summary>
[TestClass]
public sealed class ConsoleSampleTests
{
    private const int Messages = 300;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [TestCategory("headline")]
    [Timeout(150_000, CooperativeCancellation = true)]
    public Task The_console_sample_on_its_default_style_gets_300_messages_once_in_order_through_cuts_and_a_10_s_refusal() => RunAsync(null);

    [TestMethod]
    [TestCategory("headline")]
    [Timeout(150_000, CooperativeCancellation = true)]
    public Task The_console_sample_on_sse_gets_300_messages_once_in_order_through_cuts_and_a_10_s_refusal() => RunAsync("sse");

    [TestMethod]
    [TestCategory("headline")]
    [Timeout(150_000, CooperativeCancellation = true)]
    public Task The_console_sample_on_lpool_gets_300_messages_once_in_order_through_cuts_and_a_10_s_refusal() => RunAsync("lpool");

    private async Task RunAsync(string? style)
    {
        var cancel = TestContext.CancellationToken;
        await using var server = await CometTestServer.StartAsync(o => { o.Heartbeat = 1000; o.Timeout = 5000; o.MaxConnectionsPerClient = 0; });
        var port = new Uri(server.BaseUrl).Port;
        await using var proxy = new CuttingProxy(new IPEndPoint(IPAddress.Loopback, port));
        await using var sample = ConsoleSample.Start(proxy.Url + "/conn", style is null ? ["news"] : ["news", "--ws", style]);
        try
        {
            await Wait.UntilAsync(() => sample.Errors.Any(l => l.StartsWith("started ", StringComparison.Ordinal)), 60, "the sample to connect");

            Task? refusal = null;
            for (var i = 1; i <= Messages; i++)
            {
                server.Engine.SendToAll("news", new { n = i });
                if (i == 100) refusal = proxy.RefuseAsync(TimeSpan.FromSeconds(10), cancel);
                await Task.Delay(70, cancel); // about 21 s in all: cuts before, during and after the refusal
            }
            await refusal!;
            await Wait.UntilAsync(() => sample.Received.Count >= Messages, 60, "every message");
            await Task.Delay(1000, cancel); // anything sent twice would come now
            await sample.InterruptAsync();

            var what = style ?? "default";
            var summary = $"{what}: {sample.Received.Summary(Messages)}; proxy: {proxy.Connections} connections, {proxy.Cuts} cut, {proxy.Refused} refused; " +
                          $"sample: {string.Join(" | ", sample.Errors.Where(l => !l.StartsWith("gap", StringComparison.Ordinal)).Distinct().Take(8))}";
            TestContext.WriteLine(summary);
            Console.WriteLine(summary);
            sample.Received.AssertExactlyOnceInOrder(Messages, what);
            Assert.IsFalse(sample.Errors.Any(l => l.StartsWith("gap", StringComparison.Ordinal)), "no gap: " + string.Join("\n", sample.Errors));
            Assert.IsGreaterThanOrEqualTo(3, proxy.Cuts, "the proxy must have cut connections");
            Assert.IsGreaterThanOrEqualTo(1, proxy.Refused, "the proxy must have refused connections");
            Assert.AreEqual(0, sample.ExitCode, sample.InterruptIgnored
                ? "the sample ignores SIGINT: it inherited that from the shell that started the tests (a background job of a non-interactive shell ignores SIGINT); run them in the foreground"
                : "Ctrl-C ends the sample cleanly");
        }
        catch
        {
            TestContext.WriteLine("sample stderr:\n" + string.Join("\n", sample.Errors));
            throw;
        }
    }

    /// <summary>samples/Console as a process of its own (built with this test project).</summary>
    private sealed class ConsoleSample : IAsyncDisposable
    {
        private readonly Process _process;

        private ConsoleSample(Process process) => _process = process;

        internal Received Received { get; } = new();

        internal List<string> Errors { get; } = [];

        internal int ExitCode => _process.HasExited ? _process.ExitCode : -1;

        /// <summary>True if the process ignored SIGINT when it was interrupted (SigIgn in /proc: inherited from the shell that started the tests).</summary>
        internal bool InterruptIgnored { get; private set; }

        internal static ConsoleSample Start(string url, string[] args)
        {
            var root = TestPaths.RepositoryRoot();
            var dll = Path.Combine(root, "samples", "Console", "bin", TestPaths.BuildConfiguration, "net10.0", "Comet4Net.Console.dll");
            if (!File.Exists(dll)) throw new InvalidOperationException(dll + " is missing: build the test project first (it references samples/Console).");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(dll);
            start.ArgumentList.Add(url);
            foreach (var a in args) start.ArgumentList.Add(a);
            var sample = new ConsoleSample(new Process { StartInfo = start });
            sample._process.OutputDataReceived += (_, e) =>
            {
                if (string.IsNullOrEmpty(e.Data)) return;
                try
                {
                    sample.Received.AddLine(e.Data);
                }
                catch (Exception x) when (x is System.Text.Json.JsonException or KeyNotFoundException)
                {
                    lock (sample.Errors) sample.Errors.Add("stdout, not a message: " + e.Data);
                }
            };
            sample._process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null) lock (sample.Errors) sample.Errors.Add(e.Data);
            };
            sample._process.Start();
            sample._process.BeginOutputReadLine();
            sample._process.BeginErrorReadLine();
            return sample;
        }

        /// <summary>Ctrl-C (SIGINT), as a user ends it; waits for it to exit.</summary>
        internal async Task InterruptAsync()
        {
            if (_process.HasExited) return;
            InterruptIgnored = SignalIgnored(_process.Id, 2);
            using (var kill = Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        private static bool SignalIgnored(int pid, int signal)
        {
            try
            {
                var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
                return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << (signal - 1))) != 0;
            }
            catch (IOException)
            {
                return false; // gone already, or no /proc
            }
        }

        public ValueTask DisposeAsync()
        {
            try
            {
                if (!_process.HasExited) _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
            }
            _process.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
