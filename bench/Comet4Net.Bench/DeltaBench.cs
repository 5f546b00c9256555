using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Comet4Net.Delivery;

namespace Comet4Net.Bench;

/// <summary>
/// bench/run.sh --delta: a dashboard's 2 KB JSON state with one field changing per message, on a channel
/// with ChannelOptions.Delta. One subscriber on a stream, without deltas and then with (delta=fossil),
/// each against its own server process: the frame bytes it reads per message and the server's CPU per
/// message. Then, in process, what one delta costs to make (the server's FossilDelta.Create, once per
/// message whatever the number of subscribers) and to apply (the .NET client's FossilDelta.Apply), and,
/// when node is installed, the browser client's JS.Delta.apply. Writes bench/results/delta.md.
/// </summary>
internal static class DeltaBench
{
    private const int Warmup = 300;
    private const int Messages = 3000;
    private const int Rate = 1000;

    internal static async Task<int> RunAsync(string serverDll, string root, string results)
    {
        // Alternated twice: the server's CPU per message moves with the machine's load, so each row shows both runs.
        var plain = await StreamAsync(serverDll, delta: false);
        var delta = await StreamAsync(serverDll, delta: true);
        var plain2 = await StreamAsync(serverDll, delta: false);
        var delta2 = await StreamAsync(serverDll, delta: true);
        var (create, apply, deltaBytes, stateBytes) = InProcess();
        var js = JsApply(root);
        var md = new StringBuilder()
            .AppendLine($"| {Messages} states of {stateBytes} B at {Rate}/s, one field changing | frame bytes read | bytes/message | server CPU µs/message |")
            .AppendLine("|---|---:|---:|---:|")
            .AppendLine($"| stream, whole data | {plain.Bytes:N0} | {plain.Bytes / (double)Messages:F0} | {plain.CpuMicros:F1} / {plain2.CpuMicros:F1} |")
            .AppendLine($"| stream, `delta=fossil` | {delta.Bytes:N0} | {delta.Bytes / (double)Messages:F0} | {delta.CpuMicros:F1} / {delta2.CpuMicros:F1} |")
            .AppendLine()
            .AppendLine($"bytes: {plain.Bytes / (double)delta.Bytes:F1}x fewer with deltas ({delta.Whole} whole frames, {delta.Deltas} deltas); " +
                        $"one delta {deltaBytes} B against a {stateBytes} B state")
            .AppendLine($"Fossil create (server, once per message): {create:F2} µs; apply (.NET client): {apply:F2} µs" +
                        (js is null ? "" : $"; browser client per delta (apply + UTF-8 decode, node): {js}"))
            .ToString();
        Console.WriteLine(md);
        File.WriteAllText(Path.Combine(results, "delta.md"), md);
        return plain.Bytes >= 5 * delta.Bytes ? 0 : 1;
    }

    private sealed record Run(long Bytes, double CpuMicros, int Whole, int Deltas);

    /// <summary>One stream subscriber of "d" (with or without deltas) on its own server: frame bytes and server CPU over <see cref="Messages"/> states.</summary>
    private static async Task<Run> StreamAsync(string serverDll, bool delta)
    {
        await using var server = await ServerProcess.StartAsync(serverDll, "comet");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}"), Timeout = TimeSpan.FromMinutes(2) };
        var ask = delta ? "&delta=fossil" : "";
        var connLine = (await http.GetStringAsync("/conn?cmd=conn&cv=2.0.0&ws=stream&sub=d" + ask)).Split('\n')[0];
        var conn = JsonDocument.Parse(connLine).RootElement.GetProperty("data");
        var url = $"/conn?cmd=revival&ws=stream&cid={conn.GetProperty("cId")}&cs={conn.GetProperty("cs")}&ack={conn.GetProperty("seq")}" + ask;
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64 * 1024];
        long bytes = 0;
        int messages = 0, whole = 0, deltas = 0;
        var line = new List<byte>();
        byte[]? basis = null;
        async Task ReadUntilAsync(int count)
        {
            while (messages < count)
            {
                var n = await body.ReadAsync(buffer);
                if (n == 0) throw new IOException("the stream ended");
                bytes += n;
                for (var i = 0; i < n; i++)
                {
                    if (buffer[i] != '\n') { line.Add(buffer[i]); continue; }
                    var frame = JsonDocument.Parse(line.ToArray()).RootElement;
                    line.Clear();
                    if (!frame.TryGetProperty("seq", out _)) continue;
                    messages++;
                    if (!frame.TryGetProperty("d", out var d)) continue;
                    // Checked as a client would: every state rebuilt, whole or from its delta.
                    var data = frame.GetProperty("data").GetString()!;
                    if (d.GetInt32() == 0) { whole++; basis = Encoding.UTF8.GetBytes(data); }
                    else { deltas++; basis = FossilDelta.Apply(basis!, Encoding.Latin1.GetBytes(data)); }
                    JsonDocument.Parse(basis).Dispose();
                }
            }
        }
        await (await http.PostAsync($"/bench/states?count={Warmup}&rate=0", null)).Content.ReadAsStringAsync();
        await ReadUntilAsync(Warmup);
        (bytes, whole, deltas) = (0, 0, 0);
        var cpu = server.CpuSeconds();
        // At a steady 1,000 a second each state is written on its own in both runs (a burst would batch
        // the big frames more than the small ones, and the CPU per message would measure the batching).
        await (await http.PostAsync($"/bench/states?count={Messages}&rate={Rate}", null)).Content.ReadAsStringAsync();
        await ReadUntilAsync(Warmup + Messages);
        var micros = (server.CpuSeconds() - cpu) * 1e6 / Messages;
        Console.WriteLine($"== stream {(delta ? "with" : "without")} deltas: {bytes:N0} bytes, {micros:F1} µs server CPU per message");
        return new Run(bytes, micros, whole, deltas);
    }

    /// <summary>The same states serialised as the server does: µs per Fossil create and apply, and the sizes.</summary>
    private static (double Create, double Apply, int DeltaBytes, int StateBytes) InProcess()
    {
        var states = Enumerable.Range(0, 1001).Select(i => Encoding.UTF8.GetBytes(Newtonsoft.Json.JsonConvert.SerializeObject(State(i)))).ToArray();
        var made = new byte[states.Length - 1][];
        // Warm up for a second, so that the JIT's tiering has optimised both loops.
        var clock = Stopwatch.StartNew();
        for (var i = 0; clock.ElapsedMilliseconds < 1000; i = (i + 1) % made.Length) FossilDelta.Apply(states[i], FossilDelta.Create(states[i], states[i + 1]));
        clock.Restart();
        for (var i = 0; i < made.Length; i++) made[i] = FossilDelta.Create(states[i], states[i + 1]);
        var create = clock.Elapsed.TotalMicroseconds / made.Length;
        clock.Restart();
        for (var i = 0; i < made.Length; i++) FossilDelta.Apply(states[i], made[i]);
        var apply = clock.Elapsed.TotalMicroseconds / made.Length;
        return (create, apply, (int)made.Average(d => d.Length), states[500].Length);
    }

    /// <summary>The bench server's state (Comet4Net.Bench.Server/DeltaStates.cs), serialised the same way.</summary>
    private static object State(long i) => new
    {
        tick = i,
        sensors = Enumerable.Range(0, 32).Select(k => new
        {
            id = "sensor-" + k,
            name = "Boiler room sensor " + k,
            unit = "°C",
            value = 20 + k * 0.5 + (k == (int)(i % 32) ? i % 7 : 0),
            ok = true,
        }).ToArray(),
    };

    /// <summary>The browser client's apply timed by bench/delta-apply.js under node, or null without node.</summary>
    private static string? JsApply(string root)
    {
        try
        {
            var info = new ProcessStartInfo("node", Path.Combine(root, "bench", "delta-apply.js")) { RedirectStandardOutput = true, UseShellExecute = false };
            using var node = Process.Start(info)!;
            var text = node.StandardOutput.ReadToEnd().Trim();
            node.WaitForExit();
            return node.ExitCode == 0 ? text : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
