using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Comet4Net;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.SignalR;

// One server for the benchmark, three implementations with the same Kestrel settings:
//   --server comet    Comet4Net at /conn
//   --server signalr  an ASP.NET Core SignalR hub at /hub (its SSE and long-polling transports)
//   --server bare     /bare: held-open chunked answers that each get the same pre-encoded frame
//   --server bare-conn the same answers written by a Kestrel connection middleware, below its HTTP
//                     layer (no HttpContext, no request or header objects): the floor of a held answer
// POST /bench/broadcast?count=N&rate=R sends N messages (R per second, 0: as fast as it can),
// each a ~100-byte JSON object whose "t" is the send time (UTC ticks), so clients measure latency.
var server = args.SkipWhile(a => a != "--server").Skip(1).FirstOrDefault() ?? "comet";
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var below = new BareConnections();
builder.WebHost.ConfigureKestrel(k =>
{
    if (server == "bare-conn") k.ConfigureEndpointDefaults(listen => listen.Use(below.Use));
    k.Limits.MaxConcurrentConnections = null;
    k.Limits.MaxConcurrentUpgradedConnections = null;
    k.Limits.MinResponseDataRate = null;
    k.AddServerHeader = false;
});
switch (server)
{
    case "comet":
        builder.Services.AddComet(o =>
        {
            o.Timeout = 600_000;
            o.MaxConnections = 50_000;
            o.MaxConnectionsPerClient = 0;
            o.Heartbeat = 15_000;
            o.ConnExpires = 60_000;
        }, (context, _) => { context.RegisterChannel("b"); DeltaStates.Register(context); });
        if (!string.IsNullOrEmpty(builder.Configuration["Comet:Redis"])) builder.Services.AddRedis(); // the cluster scenario
        break;
    case "signalr":
        builder.Services.AddSignalR();
        break;
}
builder.Services.AddSingleton<Bare>();
var app = builder.Build();
using var tracing = Environment.GetEnvironmentVariable("BENCH_TRACE") == "1" ? new BenchTracing() : null;
var pad = new string('x', 60);
object Payload(long i) => new { t = DateTime.UtcNow.Ticks, i, pad };

switch (server)
{
    case "comet":
        app.MapComet("/conn");
        DeltaStates.Map(app); // bench/run.sh --delta
        break;
    case "signalr":
        app.UseWebSockets();
        app.MapHub<BenchHub>("/hub");
        break;
    case "bare":
        app.MapGet("/bare", (HttpContext http, Bare bare) => bare.HoldAsync(http));
        break;
}
app.MapGet("/bench/ping", () => "ok");
// What the GC holds now (the heap-dump probe of the bench prints it): committed, live after the last collection, fragmentation, allocated so far.
using var allocations = Environment.GetEnvironmentVariable("BENCH_ALLOC") == "1" ? new BenchAllocations() : null;
app.MapGet("/bench/allocs", (bool? reset) => allocations?.Report(reset ?? false) ?? "BENCH_ALLOC=1 was not set\n");
app.MapGet("/bench/gc", () =>
{
    var info = GC.GetGCMemoryInfo();
    return $"committed {info.TotalCommittedBytes >> 20} MB, heap {info.HeapSizeBytes >> 20} MB, fragmented {info.FragmentedBytes >> 20} MB, " +
           $"allocated {GC.GetTotalAllocatedBytes() >> 20} MB, gen0/1/2 collections {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}";
});
// What the JIT has done so far (methods compiled, at any tier, and the time spent): the bench waits for it to settle
// after the warm-up, and says how much of it fell in what it measures.
app.MapGet("/bench/jit", () => FormattableString.Invariant(
    $"{System.Runtime.JitInfo.GetCompiledMethodCount()} {System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:F0}"));
app.MapPost("/bench/broadcast", (int count, int rate) =>
{
    var services = app.Services; // not the request's: the broadcast outlives the request
    _ = Task.Run(async () =>
    {
        try
        {
        var engine = services.GetService<CometEngine>();
        var hub = services.GetService<IHubContext<BenchHub>>();
        var bare = services.GetRequiredService<Bare>();
        var start = DateTime.UtcNow;
        for (long i = 0; i < count; i++)
        {
            if (rate > 0)
            {
                var due = start.AddSeconds(i / (double)rate);
                var wait = due - DateTime.UtcNow;
                if (wait > TimeSpan.Zero) await Task.Delay(wait);
            }
            switch (server)
            {
                case "comet": engine!.SendToAll("b", Payload(i)); break;
                case "signalr": await hub!.Clients.All.SendAsync("m", Payload(i)); break;
                case "bare-conn": await below.BroadcastAsync(i, pad); break;
                default: await bare.BroadcastAsync(i, pad); break;
            }
        }
        }
        catch (Exception e)
        {
            Console.Error.WriteLine("broadcast failed: " + e);
        }
    });
    return Results.Ok();
});
// POST /bench/append?count=N&concurrency=C (comet only; bench/run.sh --cluster --costs): C loops each awaiting
// SendToAllAsync until N sends are numbered in all, answered when the last one is, with the seconds it took:
// how many appends one node gets into the log (on Redis: the group commit's rate).
app.MapPost("/bench/append", async (int count, int concurrency) =>
{
    var engine = app.Services.GetRequiredService<CometEngine>();
    long next = -1;
    var clock = System.Diagnostics.Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, Math.Max(1, concurrency)).Select(_ => Task.Run(async () =>
    {
        for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            await engine.SendToAllAsync("b", Payload(i));
    })));
    return Results.Ok(new { seconds = clock.Elapsed.TotalSeconds });
});
app.Run();

/// <summary>The empty hub clients connect to; the broadcaster uses IHubContext.</summary>
public sealed class BenchHub : Hub;

/// <summary>The practical limit: one pre-encoded frame written to every held-open answer.</summary>
public sealed class Bare
{
    private readonly ConcurrentDictionary<HttpContext, byte> _clients = new();

    public async Task HoldAsync(HttpContext http)
    {
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        http.Response.ContentType = "text/plain";
        await http.Response.StartAsync();
        await http.Response.Body.FlushAsync(); // StartAsync alone leaves the headers in the pipe
        _clients[http] = 0;
        try { await Task.Delay(Timeout.Infinite, http.RequestAborted); }
        catch (OperationCanceledException) { }
        finally { _clients.TryRemove(http, out _); }
    }

    public async Task BroadcastAsync(long i, string pad)
    {
        var frame = Frame(i, pad);
        await WriteToAllAsync(_clients.Keys.Select(http => http.Response.BodyWriter), frame);
    }

    /// <summary>The benchmark's message: its send time, number and padding, one line.</summary>
    internal static byte[] Frame(long i, string pad) => Encoding.UTF8.GetBytes($"{{\"t\":{DateTime.UtcNow.Ticks},\"i\":{i},\"pad\":\"{pad}\"}}\n");

    /// <summary>One write and flush per client; waits only for the writes that did not complete at once.</summary>
    internal static async Task WriteToAllAsync(IEnumerable<System.IO.Pipelines.PipeWriter> writers, byte[] bytes)
    {
        List<Task>? slow = null;
        foreach (var writer in writers)
        {
            var write = writer.WriteAsync(bytes);
            if (!write.IsCompletedSuccessfully) (slow ??= new()).Add(write.AsTask());
        }
        if (slow is not null)
        {
            try { await Task.WhenAll(slow); } catch (Exception) { }
        }
    }
}

/// <summary>
/// The bare loop below Kestrel's HTTP layer: a connection middleware reads the request head itself;
/// a GET /bare gets a chunked answer written straight to the transport and held, anything else goes
/// on to Kestrel's HTTP/1.1 untouched. What a held answer costs without HttpContext, Http1Connection
/// and their header tables.
/// </summary>
public sealed class BareConnections
{
    private readonly ConcurrentDictionary<Microsoft.AspNetCore.Connections.ConnectionContext, byte> _clients = new();

    public Microsoft.AspNetCore.Connections.ConnectionDelegate Use(Microsoft.AspNetCore.Connections.ConnectionDelegate next) =>
        connection => HandleAsync(connection, next);

    private async Task HandleAsync(Microsoft.AspNetCore.Connections.ConnectionContext connection, Microsoft.AspNetCore.Connections.ConnectionDelegate next)
    {
        var input = connection.Transport.Input;
        while (true)
        {
            var read = await input.ReadAsync();
            var buffer = read.Buffer;
            var reader = new System.Buffers.SequenceReader<byte>(buffer);
            if (reader.TryReadTo(out System.Buffers.ReadOnlySequence<byte> head, "\r\n\r\n"u8))
            {
                if (!StartsWith(head, "GET /bare "u8))
                {
                    input.AdvanceTo(buffer.Start); // not ours: Kestrel reads the same bytes
                    await next(connection);
                    return;
                }
                input.AdvanceTo(reader.Position);
                break;
            }
            if (read.IsCompleted || buffer.Length > 8192)
            {
                input.AdvanceTo(buffer.Start);
                await next(connection);
                return;
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
        var output = connection.Transport.Output;
        output.Write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"u8);
        await output.FlushAsync();
        _clients[connection] = 0;
        try
        {
            while (true)
            {
                var read = await input.ReadAsync();
                input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled) break;
            }
        }
        catch (Exception)
        {
        }
        finally
        {
            _clients.TryRemove(connection, out _);
        }
    }

    private static bool StartsWith(System.Buffers.ReadOnlySequence<byte> head, ReadOnlySpan<byte> prefix)
    {
        if (head.Length < prefix.Length) return false;
        Span<byte> first = stackalloc byte[prefix.Length];
        head.Slice(0, prefix.Length).CopyTo(first);
        return first.SequenceEqual(prefix);
    }

    public async Task BroadcastAsync(long i, string pad)
    {
        var json = Bare.Frame(i, pad);
        var chunk = Encoding.ASCII.GetBytes(json.Length.ToString("x") + "\r\n").Concat(json).Concat("\r\n"u8.ToArray()).ToArray();
        await Bare.WriteToAllAsync(_clients.Keys.Select(connection => connection.Transport.Output), chunk);
    }
}
