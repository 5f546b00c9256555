using System.Collections.Concurrent;
using System.Net;
using Comet4Net.Events;
using Comet4Net.Web.Tests;
using Microsoft.Extensions.Configuration;

namespace Comet4Net.Client.Tests.Functional;

[TestClass]
public sealed class AuthenticationTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    [DataRow("websocket")]
    [DataRow("stream")]
    public async Task The_token_headers_cookies_and_parameters_reach_the_servers_listeners(string style)
    {
        var seen = new ConcurrentQueue<string>();
        await using var server = await CometTestServer.StartAsync(o => o.Heartbeat = 1000, c =>
            c.Engine.On<ConnectEvent>(e =>
            {
                var r = e.Connection!.Request;
                seen.Enqueue($"{r.Query("token")}|{r.Header("X-App")}|{r.Cookie("session")}|{r.Query("room")}");
            }));
        var cookies = new CookieContainer();
        cookies.Add(new Uri(server.BaseUrl), new Cookie("session", "c1"));
        var tokens = 0;
        await using var client = new CometClient(new Uri(server.BaseUrl + "/conn"), new CometClientOptions
        {
            Transport = style,
            Channels = ["news"],
            Headers = { ["X-App"] = "worker" },
            Parameters = { ["room"] = "r1" },
            Cookies = cookies,
            TokenProvider = _ => ValueTask.FromResult<string?>("t" + Interlocked.Increment(ref tokens)),
        });
        var got = new TaskCompletionSource<CometMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.On("news", m => got.TrySetResult(m));
        await client.StartAsync(TestContext.CancellationToken);
        server.Engine.SendToAll("news", 1);
        await got.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.CancellationToken);
        Assert.AreEqual("t1|worker|c1|r1", seen.First());
        Assert.IsGreaterThanOrEqualTo(2, tokens, "the token is asked for again on every revival");
    }

    [TestMethod]
    public void The_options_bind_from_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CometClient:Transport"] = "sse",
            ["CometClient:Channels:0"] = "news",
            ["CometClient:Channels:1"] = "hello",
            ["CometClient:RetryMax"] = "00:00:05",
            ["CometClient:Headers:Authorization"] = "Bearer x",
            ["CometClient:MessageBufferCapacity"] = "10",
        }).Build();
        var options = new CometClientOptions();
        configuration.GetSection("CometClient").Bind(options);
        Assert.AreEqual("sse", options.Transport);
        CollectionAssert.AreEqual(new[] { "news", "hello" }, options.Channels);
        Assert.AreEqual(TimeSpan.FromSeconds(5), options.RetryMax);
        Assert.AreEqual("Bearer x", options.Headers["Authorization"]);
        Assert.AreEqual(10, options.MessageBufferCapacity);
    }

    [TestMethod]
    public void Bad_options_are_refused_with_the_key_named()
    {
        var e = Assert.Throws<ArgumentException>(() => new CometClient(new Uri("http://x/conn"), new CometClientOptions { Transport = "pigeon" }));
        Assert.Contains("Transport", e.Message);
        Assert.Throws<ArgumentException>(() => new CometClient(new Uri("/conn", UriKind.Relative)));
    }
}
