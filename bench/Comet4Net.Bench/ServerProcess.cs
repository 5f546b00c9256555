using System.Diagnostics;
using System.Net.Sockets;

namespace Comet4Net.Bench;

/// <summary>A server under test in its own process, with its CPU time and memory read from /proc.</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    internal int Port { get; }

    /// <summary>--trace: every server started attaches an ActivityListener (all data) and a MeterListener, as an exporter would.</summary>
    internal static bool Trace { get; set; }

    internal int Pid => _process.Id;

    internal bool HasExited => _process.HasExited;

    internal int ExitCode => _process.ExitCode;

    internal static async Task<ServerProcess> StartAsync(string serverDll, string kind, IReadOnlyDictionary<string, string>? environment = null)
    {
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet", $"\"{serverDll}\" --server {kind} --urls http://127.0.0.1:{port}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["DOTNET_gcServer"] = "0";
        if (Trace) info.Environment["BENCH_TRACE"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[{kind}] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, port);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                if ((await http.GetStringAsync("/bench/ping")) == "ok") return server;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>User + system CPU seconds of the server process so far.</summary>
    internal double CpuSeconds() => CpuSecondsOf(_process.Id);

    /// <summary>User + system CPU seconds of a process so far (from /proc).</summary>
    internal static double CpuSecondsOf(int pid)
    {
        var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // After the ')' the fields start at "state" (field 3); utime is field 14, stime 15.
        return (long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0;
    }

    /// <summary>(resident now, peak resident) in bytes.</summary>
    internal (long Rss, long Peak) Memory() => MemoryOf(_process.Id);

    /// <summary>(resident now, peak resident) in bytes of a process (from /proc).</summary>
    internal static (long Rss, long Peak) MemoryOf(int pid)
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:")) rss = Kb(line);
            else if (line.StartsWith("VmHWM:")) peak = Kb(line);
        }
        return (rss, peak);
        static long Kb(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    internal async Task BroadcastAsync(int count, int rate)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}") };
        (await http.PostAsync($"/bench/broadcast?count={count}&rate={rate}", null)).EnsureSuccessStatusCode();
    }

    /// <summary>Methods the server's JIT has compiled so far (every tier) and the time it took (ms).</summary>
    internal async Task<(long Methods, double Ms)> JitAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}") };
        var parts = (await http.GetStringAsync("/bench/jit")).Split(' ');
        return (long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Waits until the server's JIT is quiet (no method compiled for a second, at most 20 s): tiered compilation
    /// recompiles hot methods in the background a while after they start being called, and that one-off work
    /// (its CPU and its code memory) must not land in a measurement of connections or messages.
    /// </summary>
    internal async Task JitQuietAsync()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var last = await JitAsync();
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(1000);
            var now = await JitAsync();
            if (now.Methods == last.Methods) return;
            last = now;
        }
    }

    /// <summary>Ends the process at once (the last resort when the bench itself is being stopped).</summary>
    internal void Kill()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }

    public async ValueTask DisposeAsync()
    {
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
