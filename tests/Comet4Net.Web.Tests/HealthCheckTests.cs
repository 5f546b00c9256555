using System.Diagnostics;
using System.Net;
using Comet4Net.Tests.Shared;
using Comet4Net.Web.Internal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// <c>app.MapHealthChecks("/health")</c> after <c>AddComet()</c> (and <c>AddRedis()</c>): what an orchestrator's
/// probe sees while the node serves, when its connections near the open-file limit, and while Redis is gone.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class HealthCheckTests
{
    private static RedisServer? _redis;

    [ClassCleanup]
    public static async Task StopRedisAsync()
    {
        if (_redis is not null) await _redis.DisposeAsync();
    }

    /// <summary>/health as a probe reads it: the status code and the text (Healthy, Degraded, Unhealthy).</summary>
    private static async Task<(HttpStatusCode Status, string Text)> HealthAsync(HttpClient client, string path = "/health")
    {
        using var response = await client.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Reads /health until it says <paramref name="expected"/>, failing after <paramref name="seconds"/>; returns how long it took.</summary>
    private static async Task<TimeSpan> UntilHealthAsync(HttpClient client, string expected, double seconds)
    {
        var watch = Stopwatch.StartNew();
        var last = "";
        while (watch.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            (_, last) = await HealthAsync(client);
            if (last == expected) return watch.Elapsed;
            await Task.Delay(50);
        }
        Assert.Fail($"/health did not say {expected} within {seconds} s (last: {last}).");
        return watch.Elapsed;
    }

    /// <summary>A JSON writer for /health/detail: each check's status and description.</summary>
    private static Task WriteDetailAsync(Microsoft.AspNetCore.Http.HttpContext http, HealthReport report) =>
        Microsoft.AspNetCore.Http.HttpResponseWritingExtensions.WriteAsync(http.Response,
            new JObject(report.Entries.Select(e => new JProperty(e.Key, new JObject { ["status"] = e.Value.Status.ToString(), ["description"] = e.Value.Description, ["data"] = JObject.FromObject(e.Value.Data) }))).ToString());

    private static void MapHealth(WebApplication app)
    {
        app.MapHealthChecks("/health");
        app.MapHealthChecks("/health/detail", new HealthCheckOptions { ResponseWriter = WriteDetailAsync });
        app.MapHealthChecks("/health/redis", new HealthCheckOptions { Predicate = c => c.Tags.Contains("redis") });
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_serving_node_is_Healthy_and_Degraded_as_its_connections_near_the_open_file_limit()
    {
        CometHealthCheck? check = null;
        await using var node = await CometTestServer.StartAsync(map: app =>
        {
            MapHealth(app);
            check = app.Services.GetRequiredService<CometHealthCheck>();
        });
        Assert.AreEqual((HttpStatusCode.OK, "Healthy"), await HealthAsync(node.Client));
        var detail = JObject.Parse((await HealthAsync(node.Client, "/health/detail")).Text);
        Assert.AreEqual("Healthy", (string?)detail["comet"]?["status"], detail.ToString());
        Assert.IsNull(detail["comet-redis"], "no Redis check without AddRedis()");

        // A file limit of 272 leaves room for 16 connections: at 15 (past nine tenths) the node says Degraded.
        check!.ReadFileLimit = () => 272;
        for (var i = 0; i < 14; i++) await new V2Client(node.Client).ConnectAsync("lpool");
        Assert.AreEqual((HttpStatusCode.OK, "Healthy"), await HealthAsync(node.Client));
        await new V2Client(node.Client).ConnectAsync("lpool");
        Assert.AreEqual((HttpStatusCode.OK, "Degraded"), await HealthAsync(node.Client));
        detail = JObject.Parse((await HealthAsync(node.Client, "/health/detail")).Text);
        StringAssert.Contains((string?)detail["comet"]?["description"], "15 connections of the 16 the open-file limit (272");
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_node_at_MaxConnections_is_Degraded_and_a_stopping_node_Unhealthy()
    {
        var node = await CometTestServer.StartAsync(o => o.MaxConnections = 2, map: MapHealth);
        try
        {
            await new V2Client(node.Client).ConnectAsync("lpool");
            Assert.AreEqual((HttpStatusCode.OK, "Healthy"), await HealthAsync(node.Client));
            await new V2Client(node.Client).ConnectAsync("lpool");
            Assert.AreEqual((HttpStatusCode.OK, "Degraded"), await HealthAsync(node.Client));
            var check = new CometHealthCheck(node.Context, new StoppingLifetime());
            var result = await check.CheckHealthAsync(new HealthCheckContext());
            Assert.AreEqual(HealthStatus.Unhealthy, result.Status);
            StringAssert.Contains(result.Description, "stopping");
        }
        finally
        {
            await node.DisposeAsync();
        }
    }

    private sealed class StoppingLifetime : Microsoft.Extensions.Hosting.IHostApplicationLifetime
    {
        private static CancellationToken Cancelled => new(true);
        public CancellationToken ApplicationStarted => Cancelled;
        public CancellationToken ApplicationStopping => Cancelled;
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication() { }
    }

    [TestMethod]
    [Timeout(120000, CooperativeCancellation = true)]
    public async Task On_Redis_health_goes_Unhealthy_within_5_s_of_a_frozen_or_stopped_Redis_and_Healthy_when_it_is_back()
    {
        _redis ??= await RedisServer.StartAsync();
        var redis = _redis;
        await using var node = await CometTestServer.StartAsync(map: MapHealth,
            services: s => s.AddRedis(redis.Configuration, o => o.Prefix = "h" + Guid.NewGuid().ToString("N")[..8] + ":"));
        Assert.AreEqual((HttpStatusCode.OK, "Healthy"), await HealthAsync(node.Client));
        var detail = JObject.Parse((await HealthAsync(node.Client, "/health/detail")).Text);
        StringAssert.StartsWith((string?)detail["comet-redis"]?["description"], "Redis answers", detail.ToString());
        // The log's head is read from the shared counter (its hash-tagged key): after three sends it is at least 3.
        for (var i = 0; i < 3; i++) await node.Engine.SendToAllAsync("news", i);
        var headBy = DateTime.UtcNow.AddSeconds(5); // the check keeps its answer for 1 s
        while (true)
        {
            detail = JObject.Parse((await HealthAsync(node.Client, "/health/detail")).Text);
            if (((long?)detail["comet-redis"]?["data"]?["logHead"] ?? 0) >= 3) break;
            if (DateTime.UtcNow > headBy) Assert.Fail("the check's log head never reached the three sends: " + detail);
            await Task.Delay(100);
        }

        // Frozen (SIGSTOP: the socket open, no answer): Unhealthy within 5 s; the engine's own check stays Healthy.
        redis.Freeze();
        try
        {
            var took = await UntilHealthAsync(node.Client, "Unhealthy", 5);
            Console.WriteLine($"frozen Redis -> Unhealthy after {took.TotalMilliseconds:0} ms");
            var (status, _) = await HealthAsync(node.Client);
            Assert.AreEqual(HttpStatusCode.ServiceUnavailable, status);
            detail = JObject.Parse((await HealthAsync(node.Client, "/health/detail")).Text);
            Assert.AreEqual("Healthy", (string?)detail["comet"]?["status"], detail.ToString());
            StringAssert.Contains((string?)detail["comet-redis"]?["description"], "did not answer a PING", detail.ToString());
        }
        finally
        {
            redis.Thaw();
        }
        var back = await UntilHealthAsync(node.Client, "Healthy", 10);
        Console.WriteLine($"thawed Redis -> Healthy after {back.TotalMilliseconds:0} ms");

        // Stopped (the process gone): Unhealthy within 5 s; started again on the same port: Healthy again.
        await redis.StopAsync();
        var down = await UntilHealthAsync(node.Client, "Unhealthy", 5);
        Console.WriteLine($"stopped Redis -> Unhealthy after {down.TotalMilliseconds:0} ms");
        Assert.AreEqual("Unhealthy", (await HealthAsync(node.Client, "/health/redis")).Text);
        await redis.StartAgainAsync();
        var up = await UntilHealthAsync(node.Client, "Healthy", 20);
        Console.WriteLine($"restarted Redis -> Healthy after {up.TotalMilliseconds:0} ms");
    }
}
