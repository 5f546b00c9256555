using System.Diagnostics;
using System.Text;
using Comet4Net.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Comet4Net.Web.Tests;

/// <summary>
/// The test proxies themselves: <see cref="ChaosProxy"/>'s per-chunk cuts and outage, and
/// <see cref="NginxProxy"/> (a real nginx with the simplest proxy_pass configuration), in front of a
/// tiny Kestrel app that streams 50 small flushed chunks.
/// </summary>
[TestClass]
public sealed class ProxyInfraTests
{
    private const int Chunks = 50;

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task ChunkCutRate_cuts_streamed_answers_mid_stream_and_counts_the_cuts()
    {
        var token = TestContext.CancellationToken;
        await using var upstream = await StreamingApp.StartAsync();
        await using var proxy = await ChaosProxy.StartAsync(new Uri(upstream.Url));
        proxy.CutRate = 0;
        proxy.DelayRate = 0;
        proxy.ChunkCutRate = 0.3;
        using var http = new HttpClient { BaseAddress = new Uri(proxy.Url), Timeout = TimeSpan.FromSeconds(20) };

        const int Requests = 10;
        int cut = 0, midStream = 0, complete = 0;
        var received = new List<int>();
        for (var i = 0; i < Requests; i++)
        {
            var (ok, headers, bytes) = await GetStreamAsync(http, "/conn/stream?delay=2", token);
            received.Add(bytes);
            if (ok) complete++;
            else
            {
                cut++;
                if (headers && bytes > 0 && bytes < StreamingApp.BodyLength) midStream++;
            }
        }
        TestContext.WriteLine($"cut {cut}, of which mid-stream {midStream}, complete {complete}; proxy cuts {proxy.Cuts}; bytes received: {string.Join(", ", received)}");

        // Each answer survives 50 rolls of 0.3 with probability 0.7^50 (about 2e-8): every one is cut, at various chunks.
        Assert.IsGreaterThanOrEqualTo(Requests / 2, cut, "answers must be cut again and again");
        Assert.IsGreaterThan(0, midStream, "some answers must be cut part-way through the body");
        Assert.IsGreaterThan(1, received.Distinct().Count(), "cuts must fall after different chunks");
        Assert.AreEqual(cut, proxy.Cuts, "every cut the clients saw is counted in Cuts, and only those");

        // ChunkCutRate 0 (the default) again: the answer passes whole.
        proxy.ChunkCutRate = 0;
        var whole = await GetStreamAsync(http, "/conn/stream?delay=0", token);
        Assert.IsTrue(whole.Ok);
        Assert.AreEqual(StreamingApp.BodyLength, whole.Bytes);
        Assert.AreEqual(cut, proxy.Cuts);
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task Outage_drops_new_and_in_flight_conn_requests_and_traffic_passes_again_after_it()
    {
        var token = TestContext.CancellationToken;
        await using var upstream = await StreamingApp.StartAsync();
        await using var proxy = await ChaosProxy.StartAsync(new Uri(upstream.Url));
        proxy.CutRate = 0;
        proxy.DelayRate = 0;
        using var http = new HttpClient { BaseAddress = new Uri(proxy.Url), Timeout = TimeSpan.FromSeconds(20) };

        var before = await GetStreamAsync(http, "/conn/stream", token);
        Assert.IsTrue(before.Ok, "before the outage the request passes");

        // A new request during the outage fails at once.
        proxy.Outage = true;
        var hits = upstream.Requests;
        var watch = Stopwatch.StartNew();
        var during = await GetStreamAsync(http, "/conn/stream", token);
        watch.Stop();
        TestContext.WriteLine($"during the outage: ok={during.Ok}, headers={during.Headers}, bytes={during.Bytes}, in {watch.ElapsedMilliseconds} ms");
        Assert.IsFalse(during.Ok, "during the outage the request fails");
        Assert.IsFalse(during.Headers, "refused without an answer");
        Assert.IsLessThan(TimeSpan.FromSeconds(3), watch.Elapsed, "and fails quickly");
        Assert.AreEqual(hits, upstream.Requests, "a refused request does not reach the server");

        // Only /conn is dropped.
        using (var other = await http.GetAsync("/hello", token))
            Assert.AreEqual("hello", await other.Content.ReadAsStringAsync(token));

        // After it ends, the same request succeeds.
        proxy.Outage = false;
        var after = await GetStreamAsync(http, "/conn/stream", token);
        Assert.IsTrue(after.Ok, "after the outage the same request passes");
        Assert.AreEqual(StreamingApp.BodyLength, after.Bytes);

        // An answer being streamed when the outage begins is cut at once: 50 chunks 50 ms apart take 2.5 s.
        using (var response = await http.GetAsync("/conn/stream?delay=50", HttpCompletionOption.ResponseHeadersRead, token))
        {
            Assert.AreEqual(200, (int)response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync(token);
            var buffer = new byte[4096];
            Assert.IsGreaterThan(0, await body.ReadAsync(buffer, token), "the answer has begun");
            var outage = proxy.OutageAsync(TimeSpan.FromMilliseconds(500), token);
            watch.Restart();
            var total = 0;
            await Assert.ThrowsAsync<IOException>(async () =>
            {
                int n;
                while ((n = await body.ReadAsync(buffer, token)) > 0) total += n;
            });
            watch.Stop();
            TestContext.WriteLine($"in-flight answer cut after {watch.ElapsedMilliseconds} ms more, {total} more bytes");
            Assert.IsLessThan(TimeSpan.FromSeconds(1.5), watch.Elapsed, "the in-flight answer is cut at once");
            await outage;
        }
        Assert.IsFalse(proxy.Outage, "OutageAsync ends the outage");
        Assert.IsGreaterThanOrEqualTo(2, proxy.OutageCuts);
        Assert.AreEqual(0, proxy.Cuts, "outage cuts are not chaos cuts");

        var again = await GetStreamAsync(http, "/conn/stream", token);
        Assert.IsTrue(again.Ok, "after OutageAsync the request passes again");
        Assert.AreEqual(StreamingApp.BodyLength, again.Bytes);
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task Nginx_with_a_plain_proxy_pass_forwards_a_GET_to_the_upstream()
    {
        if (!NginxProxy.IsAvailable) Assert.Inconclusive($"nginx is not installed ({NginxProxy.NginxPath}).");
        var token = TestContext.CancellationToken;
        await using var upstream = await StreamingApp.StartAsync();
        await using var nginx = await NginxProxy.StartAsync(new Uri(upstream.Url), token);
        using var http = new HttpClient { BaseAddress = new Uri(nginx.Url), Timeout = TimeSpan.FromSeconds(20) };

        using (var hello = await http.GetAsync("/hello", token))
        {
            Assert.AreEqual(200, (int)hello.StatusCode, nginx.ErrorLog);
            Assert.AreEqual("hello", await hello.Content.ReadAsStringAsync(token));
        }
        Assert.AreEqual(1, upstream.Requests, "the GET reached the upstream");
        Assert.AreEqual("HTTP/1.0", upstream.LastProtocol, "nginx's default: HTTP/1.0 to the upstream");

        using (var stream = await http.GetAsync("/conn/stream?delay=2", token))
        {
            Assert.AreEqual(200, (int)stream.StatusCode, nginx.ErrorLog);
            Assert.AreEqual(StreamingApp.Body, await stream.Content.ReadAsStringAsync(token));
        }
        Assert.AreEqual(2, upstream.Requests);
    }

    /// <summary>GETs <paramref name="path"/> and reads the whole body: whether it completed, whether headers arrived, how many body bytes.</summary>
    private static async Task<(bool Ok, bool Headers, int Bytes)> GetStreamAsync(HttpClient http, string path, CancellationToken token)
    {
        var headers = false;
        var bytes = 0;
        try
        {
            using var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, token);
            headers = true;
            Assert.AreEqual(200, (int)response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync(token);
            var buffer = new byte[4096];
            int n;
            while ((n = await body.ReadAsync(buffer, token)) > 0) bytes += n;
            return (bytes == StreamingApp.BodyLength, true, bytes);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return (false, headers, bytes);
        }
    }

    public TestContext TestContext { get; set; } = null!;

    /// <summary>A tiny Kestrel app: <c>/conn/stream?delay=ms</c> streams 50 small chunks with a flush after each; <c>/hello</c> answers "hello".</summary>
    private sealed class StreamingApp : IAsyncDisposable
    {
        internal static readonly string Body = string.Concat(Enumerable.Range(0, Chunks).Select(Chunk));
        internal static readonly int BodyLength = Encoding.ASCII.GetByteCount(Body);

        private readonly WebApplication _app;
        private int _requests;
        private volatile string _lastProtocol = "";

        private StreamingApp(WebApplication app) => _app = app;

        internal string Url { get; private set; } = "";

        internal int Requests => Volatile.Read(ref _requests);

        internal string LastProtocol => _lastProtocol;

        private static string Chunk(int i) => $"chunk {i:00}\n";

        internal static async Task<StreamingApp> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var server = new StreamingApp(app);
            app.Run(server.HandleAsync);
            await app.StartAsync();
            server.Url = app.Urls.First();
            return server;
        }

        private async Task HandleAsync(HttpContext context)
        {
            Interlocked.Increment(ref _requests);
            _lastProtocol = context.Request.Protocol;
            var aborted = context.RequestAborted;
            if (context.Request.Path == "/hello")
            {
                context.Response.ContentType = "text/plain";
                await context.Response.WriteAsync("hello", aborted);
                return;
            }
            if (context.Request.Path != "/conn/stream")
            {
                context.Response.StatusCode = 404;
                return;
            }
            var delay = int.TryParse(context.Request.Query["delay"], out var d) ? d : 2;
            context.Response.ContentType = "text/plain";
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            try
            {
                for (var i = 0; i < Chunks; i++)
                {
                    await context.Response.WriteAsync(Chunk(i), aborted);
                    await context.Response.Body.FlushAsync(aborted);
                    if (delay > 0 && i < Chunks - 1) await Task.Delay(delay, aborted);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(cts.Token);
            await _app.DisposeAsync();
        }
    }
}
