using System.Collections.Concurrent;
using System.Net;
using Comet4Net.Events;
using Comet4Net.Tests.Shared;
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

    private const string TokenKey = "a-test-signing-key-of-32-chars-or-more";

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    [DataRow("auto")]
    [DataRow("websocket")]
    [DataRow("stream")]
    [DataRow("lpool")]
    public async Task A_token_that_expired_is_replaced_from_the_provider_when_the_client_connects_again(string style)
    {
        var cancel = TestContext.CancellationToken;
        void Secured(CometOptions o) { o.Heartbeat = 1000; o.Timeout = 3000; o.TokenKey = TokenKey; o.RequireToken = true; }
        var users = new ConcurrentQueue<string?>();
        void Listen(CometContext c) => c.Engine.On<ConnectEvent>(e => users.Enqueue(e.Connection!.UserId));
        var first = await CometTestServer.StartAsync(Secured, Listen);
        await using var proxy = await ChaosProxy.StartAsync(new Uri(first.BaseUrl));
        proxy.Enabled = false;
        proxy.BlockWebSockets = false;
        var issuer = new CometTokens(TokenKey);
        var issued = new ConcurrentQueue<string>();
        await using var client = new CometClient(new Uri(proxy.Url + "/conn"), new CometClientOptions
        {
            Transport = style,
            Channels = ["news"],
            RetryBase = TimeSpan.FromMilliseconds(100),
            RetryMax = TimeSpan.FromSeconds(1),
            // Each token lives a few seconds (long enough for a connect on a loaded machine; one second was not, beside
            // CPU-bound work): the one the client connected with has expired when it must connect again.
            TokenProvider = _ =>
            {
                var token = issuer.Issue("ann", TimeSpan.FromSeconds(4));
                issued.Enqueue(token);
                return ValueTask.FromResult<string?>(token);
            },
        });
        var received = new Received();
        var gaps = new ConcurrentQueue<CometGapEventArgs>();
        client.Gap += (_, e) => gaps.Enqueue(e);
        client.On("news", m => received.Add(m.Data.GetInt32()));
        await client.StartAsync(cancel);
        first.Engine.SendToAll("news", 1);
        await Wait.UntilAsync(() => received.Count == 1, 10, "the first message");
        var firstToken = issued.First();
        await Wait.UntilAsync(() => !issuer.TryValidate(firstToken, out _, out _), 10, "the first token to expire");

        // The session is gone with the server: the client must connect anew, and its first token would be refused.
        await first.DisposeAsync();
        await using var second = await CometTestServer.StartAsync(Secured, Listen);
        proxy.Target = new Uri(second.BaseUrl);
        var firstId = client.ConnectionId;
        // The client's own connection on the new server (a Connect event alone is not it: under load a connect
        // whose answer came too late is abandoned by the client, which connects again).
        await Wait.UntilAsync(() => client.ConnectionId is { } id && id != firstId && second.Engine.GetConnection(id) is not null, 30, "the client's connection on the new server");
        second.Engine.SendToAll("news", 2);
        await Wait.UntilAsync(() => received.Count == 2, 10, "the message of the new server");
        received.AssertExactlyOnceInOrder(2, style + " after the token expired");
        Assert.IsGreaterThanOrEqualTo(2, users.Count, "a connection on each server");
        Assert.IsTrue(users.All(u => u == "ann"), "each connection is the token's user: " + string.Join(", ", users));
        Assert.AreNotEqual(CometClientState.Stopped, client.State);
        Assert.AreEqual("reset", gaps.Single().Reason);
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task A_provider_that_gives_an_expired_token_stops_the_client_with_the_servers_reason()
    {
        await using var server = await CometTestServer.StartAsync(o => { o.TokenKey = TokenKey; o.RequireToken = true; });
        var issuer = new CometTokens(TokenKey, new FixedTime(DateTimeOffset.UtcNow.AddHours(-2)));
        var stale = issuer.Issue("ann", TimeSpan.FromMinutes(1));
        await using var client = new CometClient(new Uri(server.BaseUrl + "/conn"), new CometClientOptions
        {
            TokenProvider = _ => ValueTask.FromResult<string?>(stale),
        });
        var e = await Assert.ThrowsAsync<CometClientException>(() => client.StartAsync(TestContext.CancellationToken));
        Assert.AreEqual(CometStopReason.Refused, e.Reason);
        Assert.Contains("expired", e.Message);
        Assert.AreEqual(CometClientState.Stopped, client.State);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
