using System.Net;
using System.Net.Sockets;
using Comet4Net.Web.Internal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Comet4Net.Web.Tests;

/// <summary>The open-file limit is counted at Kestrel's transport (not by Kestrel's per-connection middleware).</summary>
[TestClass]
public sealed class FileLimitGateTests
{
    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task An_application_built_the_usual_way_counts_connections_at_the_transport_and_closes_those_past_the_limit()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddComet();
        await using var app = builder.Build();
        app.MapGet("/", () => "ok");
        var gate = app.Services.GetRequiredService<FileLimitGate>();
        Assert.IsTrue(app.Services.GetServices<IConnectionListenerFactory>().Any(f => f.GetType().Name == "GatedFactory"),
            "Kestrel's transport is wrapped by the gate");
        await app.StartAsync(TestContext.CancellationToken);
        var port = new Uri(app.Urls.First()).Port;
        gate.Limit = 3; // as if the open-file limit allowed three

        var held = new List<TcpClient>();
        for (var i = 0; i < 3; i++)
        {
            var c = new TcpClient();
            await c.ConnectAsync(IPAddress.Loopback, port, TestContext.CancellationToken);
            held.Add(c);
        }
        await WaitAsync(() => gate.Open == 3);
        using (var fourth = new TcpClient())
        {
            await fourth.ConnectAsync(IPAddress.Loopback, port, TestContext.CancellationToken);
            var read = await fourth.GetStream().ReadAsync(new byte[16], TestContext.CancellationToken); // closed at once: end of stream
            Assert.AreEqual(0, read, "a connection past the limit is closed");
        }
        Assert.AreEqual(3, gate.Open);
        foreach (var c in held) c.Dispose();
        await WaitAsync(() => gate.Open == 0); // closed connections leave the count

        using var client = new HttpClient();
        Assert.AreEqual("ok", await client.GetStringAsync($"http://127.0.0.1:{port}/", TestContext.CancellationToken), "served again once the others left");
        await app.StopAsync(TestContext.CancellationToken);
    }

    private async Task WaitAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("condition not met in 20 s");
            await Task.Delay(20, TestContext.CancellationToken);
        }
    }

    public TestContext TestContext { get; set; } = null!;
}
