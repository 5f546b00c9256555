using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Comet4Net.Bench;

/// <summary>The Markdown table, the chart and the summary line.</summary>
internal static class Report
{
    private const string Comet = "comet-stream", SignalR = "signalr-sse", Bare = "bare";

    private static Result? Find(List<Result> all, string kind, int n) => all.FirstOrDefault(r => r.Kind == kind && r.N == n);

    private static string Ratio(double a, double b) => double.IsFinite(a) && double.IsFinite(b) && b != 0 ? (a / b).ToString("F2", CultureInfo.InvariantCulture) : "n/a";

    internal static string Table(List<Result> all, int[] sizes, string[] kinds, bool quick, int repeat)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB, " +
                      $"{(quick ? "--quick" : "full")} mode, median of {repeat} run(s) per cell. Client and server share the machine (loopback).");
        sb.AppendLine();
        (string Name, Func<Result, double> Get, string Format, bool HigherBetter)[] rows =
        [
            ("connect storm (connections/s)", x => x.ConnectPerSecond, "F0", true),
            ("idle memory per connection (KB)", x => x.IdleBytesPerConnection / 1024, "F1", false),
            ("fixed rate: messages/s sent", x => x.FixedRate, "F0", true),
            ("fixed rate: delivered/s", x => x.FixedDelivered, "F0", true),
            ("fixed rate: latency p50 (ms)", x => x.P50, "F1", false),
            ("fixed rate: latency p99 (ms)", x => x.P99, "F1", false),
            ("fixed rate: latency max (ms)", x => x.Max, "F1", false),
            ("burst: delivered messages/s", x => x.BurstDelivered, "F0", true),
            ("server CPU per delivered message (µs)", x => x.CpuMicrosPerMessage, "F2", false),
            ("server peak RSS (MB)", x => x.PeakRssMb, "F0", false),
            ("memory per connection after the burst (KB)", x => x.AfterBurstBytesPerConnection / 1024, "F1", false),
            ("not delivered in time (%)", x => x.Lost * 100, "F2", false),
        ];
        foreach (var n in sizes)
        {
            sb.AppendLine($"### {n:N0} subscribers");
            sb.AppendLine();
            sb.Append("| figure | ").Append(string.Join(" | ", kinds)).AppendLine(" | comet4net/signalr | comet4net/bare |");
            sb.Append("|---|").Append(string.Concat(kinds.Select(_ => "---:|"))).AppendLine("---:|---:|");
            foreach (var (name, get, format, _) in rows)
            {
                sb.Append("| ").Append(name).Append(" | ");
                sb.Append(string.Join(" | ", kinds.Select(k => Find(all, k, n) is { } x ? get(x).ToString(format, CultureInfo.InvariantCulture) : "")));
                var c = Find(all, Comet, n);
                var s = Find(all, SignalR, n);
                var b = Find(all, Bare, n);
                sb.Append(" | ").Append(c is not null && s is not null ? Ratio(get(c), get(s)) : "");
                sb.Append(" | ").Append(c is not null && b is not null ? Ratio(get(c), get(b)) : "").AppendLine(" |");
            }
            sb.AppendLine();
        }
        sb.AppendLine("Ratios compare Comet4Net's stream work style with SignalR over Server-Sent Events and with the bare loop.");
        return sb.ToString();
    }

    internal static string Summary(List<Result> all)
    {
        var n = all.Max(r => r.N);
        var c = Find(all, Comet, n);
        var s = Find(all, SignalR, n);
        var b = Find(all, Bare, n);
        var cw = Find(all, "comet-websocket", n);
        var sw = Find(all, "signalr-ws", n);
        string R(Func<Result, double> f, Result? x, Result? y) => x is null || y is null ? "n/a" : Ratio(f(x), f(y));
        return $"summary: fanout10k throughput comet4net/signalr={R(x => x.BurstDelivered, c, s)} comet4net/bare={R(x => x.BurstDelivered, c, b)} " +
               $"cpu/msg comet4net/signalr={R(x => x.CpuMicrosPerMessage, c, s)} mem/conn comet4net/signalr={R(x => x.IdleBytesPerConnection, c, s)}" +
               $" websocket: throughput={R(x => x.BurstDelivered, cw, sw)} cpu/msg={R(x => x.CpuMicrosPerMessage, cw, sw)} mem/conn={R(x => x.IdleBytesPerConnection, cw, sw)}";
    }

    /// <summary>Delivered messages/s (burst) and p99 latency against N, one line per server: SVG, and PNG through rsvg-convert.</summary>
    internal static void Chart(List<Result> all, int[] sizes, string[] kinds, string folder)
    {
        var palette = new Dictionary<string, string>
        {
            ["comet-stream"] = "#2563eb", ["comet-lpool"] = "#60a5fa", ["comet-sse"] = "#93c5fd",
            ["comet-websocket"] = "#1e3a8a", ["signalr-sse"] = "#dc2626", ["signalr-lpool"] = "#f87171", ["signalr-ws"] = "#7f1d1d", ["bare"] = "#16a34a", ["bare-conn"] = "#86efac",
        };
        string Colour(string kind) => palette.GetValueOrDefault(kind, "#6b7280");
        const int W = 1060, panel = 440, top = 50, height = 300, left = 90, perRow = 6;
        var H = 400 + 20 * ((kinds.Length + perRow - 1) / perRow); // the legend wraps, six kinds a row
        var svg = new StringBuilder();
        svg.AppendLine($"<svg xmlns='http://www.w3.org/2000/svg' width='{W}' height='{H}' font-family='sans-serif' font-size='12'>");
        svg.AppendLine($"<rect width='{W}' height='{H}' fill='white'/>");
        (string Title, Func<Result, double> Get)[] panels = [("delivered messages/s (burst)", x => x.BurstDelivered), ("p99 latency at a fixed rate (ms)", x => x.P99)];
        for (var p = 0; p < panels.Length; p++)
        {
            var x0 = left + p * (panel + 60);
            var values = all.Select(panels[p].Get).Where(double.IsFinite).DefaultIfEmpty(1).ToArray();
            var maxY = values.Max() * 1.1;
            svg.AppendLine($"<text x='{x0}' y='30' font-size='14' font-weight='bold'>{panels[p].Title}</text>");
            svg.AppendLine($"<line x1='{x0}' y1='{top + height}' x2='{x0 + panel}' y2='{top + height}' stroke='black'/><line x1='{x0}' y1='{top}' x2='{x0}' y2='{top + height}' stroke='black'/>");
            for (var t = 0; t <= 4; t++)
            {
                var y = top + height - t * height / 4.0;
                svg.AppendLine(Invariant($"<text x='{x0 - 5}' y='{y + 4:F0}' text-anchor='end'>{Short(maxY * t / 4)}</text><line x1='{x0}' y1='{y:F0}' x2='{x0 + panel}' y2='{y:F0}' stroke='#eee'/>"));
            }
            double X(int i) => x0 + (sizes.Length == 1 ? panel / 2.0 : 30 + i * (panel - 60.0) / (sizes.Length - 1));
            for (var i = 0; i < sizes.Length; i++) svg.AppendLine(Invariant($"<text x='{X(i):F0}' y='{top + height + 18}' text-anchor='middle'>N = {sizes[i]:N0}</text>"));
            for (var k = 0; k < kinds.Length; k++)
            {
                var points = sizes.Select((n, i) => (i, r: Find(all, kinds[k], n))).Where(t => t.r is not null && double.IsFinite(panels[p].Get(t.r)))
                    .Select(t => (X: X(t.i), Y: top + height - panels[p].Get(t.r!) / maxY * height)).ToArray();
                if (points.Length > 1) svg.AppendLine($"<polyline fill='none' stroke='{Colour(kinds[k])}' stroke-width='2' points='{string.Join(" ", points.Select(q => Invariant($"{q.X:F0},{q.Y:F0}")))}'/>");
                foreach (var q in points) svg.AppendLine(Invariant($"<circle cx='{q.X:F0}' cy='{q.Y:F0}' r='4' fill='{Colour(kinds[k])}'/>"));
            }
        }
        for (var k = 0; k < kinds.Length; k++)
        {
            var (row, column) = (k / perRow, k % perRow);
            svg.AppendLine($"<rect x='{left + column * 150}' y='{400 + row * 20 - 10}' width='12' height='12' fill='{Colour(kinds[k])}'/><text x='{left + column * 150 + 16}' y='{400 + row * 20}'>{kinds[k]}</text>");
        }
        svg.AppendLine("</svg>");
        var svgPath = Path.Combine(folder, "chart.svg");
        File.WriteAllText(svgPath, svg.ToString());
        try
        {
            using var convert = Process.Start(new ProcessStartInfo("rsvg-convert", $"-o \"{Path.Combine(folder, "chart.png")}\" \"{svgPath}\"") { UseShellExecute = false });
            convert!.WaitForExit(30000);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.WriteLine("rsvg-convert is not installed (apt-get install librsvg2-bin): the chart is in chart.svg only.");
        }
    }

    private static string Short(double v) =>
        v >= 1e6 ? (v / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M" :
        v >= 1e4 ? (v / 1e3).ToString("0", CultureInfo.InvariantCulture) + "k" : v.ToString("0.#", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
