using System.Collections.Concurrent;
using Comet4Net.Events;
using Comet4Net.Hosting;
using Comet4Net.Tests.Shared;
using Comet4Net.Web.Tests;
using Microsoft.Extensions.DependencyInjection;

namespace Comet4Net.Client.Tests.Functional;

/// <summary>The .NET client refreshes its token (TokenProvider) on the same connection: before the expiry, and after token-expired.</summary>
[TestClass]
public sealed class TokenRefreshClientTests
{
    private const string TokenKey = "a-test-signing-key-of-32-chars-or-more";

    public TestContext TestContext { get; set; } = null!;

    /// <summary>The system clock with a wall time the test moves forward (timers and timestamps stay real).</summary>
    private sealed class ShiftedClock : TimeProvider
    {
        private long _offsetTicks;

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));

        internal void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
    }

    private static Task<CometTestServer> StartAsync(ConcurrentQueue<string> connects, TimeProvider? clock = null) => CometTestServer.StartAsync(o =>
    {
        o.Heartbeat = 1000;
        o.TokenKey = TokenKey;
        o.CacheExpires = 600_000; // a shifted wall clock must not age the kept messages out
    }, c => c.Engine.On<ConnectEvent>(e => connects.Enqueue(e.Connection!.Id)), services: s =>
    {
        if (clock is not null) s.AddSingleton(clock);
    });

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    [DataRow("websocket")]
    [DataRow("stream")]
    [DataRow("lpool")]
    public async Task A_token_of_three_seconds_is_refreshed_on_the_same_connection_with_nothing_lost(string style)
    {
        var connects = new ConcurrentQueue<string>();
        await using var server = await StartAsync(connects);
        var tokens = server.Context.Tokens!;
        await using var client = new CometClient(new Uri(server.BaseUrl + "/conn"), new CometClientOptions
        {
            Transport = style,
            Channels = ["news"],
            TokenProvider = _ => ValueTask.FromResult<string?>(tokens.Issue("ann", TimeSpan.FromSeconds(3))),
        });
        var received = new Received();
        client.On("news", m => received.Add(m.Data.GetInt32()));
        await client.StartAsync(TestContext.CancellationToken);
        var connection = server.Engine.GetConnection(client.ConnectionId!)!;
        var first = CometHost.TokenExpiresOf(connection);
        var sent = 0;
        var until = DateTime.UtcNow.AddSeconds(7); // two token lives and more
        while (DateTime.UtcNow < until)
        {
            server.Engine.SendToAll("news", ++sent);
            await Task.Delay(50, TestContext.CancellationToken);
        }
        await Wait.UntilAsync(() => received.Count >= sent, 15, $"every message (got {received.Count} of {sent}, state {client.State}, expires in {CometHost.TokenExpiresOf(connection) - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()} ms, connects {connects.Count}, last {string.Join(",", received.Values.TakeLast(3))})");
        received.AssertExactlyOnceInOrder(sent, style);
        Assert.HasCount(1, connects, "one connection throughout");
        Assert.AreSame(connection, server.Engine.GetConnection(client.ConnectionId!));
        Assert.IsGreaterThan(first + 3000, CometHost.TokenExpiresOf(connection), "refreshed at least twice");
        Assert.AreNotEqual(CometClientState.Stopped, client.State);
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    [DataRow("websocket")]
    [DataRow("stream")]
    public async Task Past_the_expiry_the_client_is_told_token_expired_refreshes_and_resumes_with_nothing_lost(string style)
    {
        var clock = new ShiftedClock();
        var connects = new ConcurrentQueue<string>();
        await using var server = await StartAsync(connects, clock);
        var tokens = server.Context.Tokens!;
        await using var client = new CometClient(new Uri(server.BaseUrl + "/conn"), new CometClientOptions
        {
            Transport = style,
            Channels = ["news"],
            TokenProvider = _ => ValueTask.FromResult<string?>(tokens.Issue("ann", TimeSpan.FromSeconds(60))),
        });
        var received = new Received();
        client.On("news", m => received.Add(m.Data.GetInt32()));
        await client.StartAsync(TestContext.CancellationToken);
        var connection = server.Engine.GetConnection(client.ConnectionId!)!;
        server.Engine.SendToAll("news", 1);
        await Wait.UntilAsync(() => received.Count == 1, 10, "the first message");
        var first = CometHost.TokenExpiresOf(connection);

        clock.Advance(TimeSpan.FromSeconds(61)); // the server ends the answer with token-expired at its next tick
        for (var i = 2; i <= 20; i++)
        {
            server.Engine.SendToAll("news", i);
            await Task.Delay(50, TestContext.CancellationToken);
        }
        await Wait.UntilAsync(() => received.Count >= 20, 15, "every message");
        received.AssertExactlyOnceInOrder(20, style);
        Assert.IsGreaterThan(first + 60_000, CometHost.TokenExpiresOf(connection), "refreshed after the expiry");
        Assert.HasCount(1, connects, "resumed, not connected again");
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task A_refresh_with_another_users_token_stops_the_client_with_the_reason()
    {
        var connects = new ConcurrentQueue<string>();
        await using var server = await StartAsync(connects);
        var tokens = server.Context.Tokens!;
        var asked = 0;
        await using var client = new CometClient(new Uri(server.BaseUrl + "/conn"), new CometClientOptions
        {
            Transport = "websocket",
            TokenProvider = _ => ValueTask.FromResult<string?>(tokens.Issue(Interlocked.Increment(ref asked) == 1 ? "ann" : "bob", TimeSpan.FromSeconds(3))),
        });
        var stopped = new TaskCompletionSource<CometStoppedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Stopped += (_, e) => stopped.TrySetResult(e);
        await client.StartAsync(TestContext.CancellationToken);
        var e = await stopped.Task.WaitAsync(TimeSpan.FromSeconds(15), TestContext.CancellationToken);
        Assert.AreEqual(CometStopReason.Refused, e.Reason);
        Assert.StartsWith("forbidden: ", e.Message);
        Assert.Contains("another user", e.Message);
        Assert.AreEqual(CometClientState.Stopped, client.State);
        Assert.AreEqual("ann", server.Engine.GetConnection(e.ConnectionId!)?.UserId ?? "ann", "the user never changed");
    }
}
