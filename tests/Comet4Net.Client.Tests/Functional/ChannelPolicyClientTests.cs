using System.Security.Claims;
using System.Text.Encodings.Web;
using Comet4Net.Web.Tests;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Comet4Net.Client.Tests.Functional;

/// <summary>The .NET client on a server whose channel is guarded by an ASP.NET Core policy: its user comes from the client's headers.</summary>
[TestClass]
public sealed class ChannelPolicyClientTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    [DataRow("websocket")]
    [DataRow("stream")]
    public async Task A_user_the_policy_refuses_gets_the_channel_refused_at_connect_and_on_every_command(string transport)
    {
        await using var server = await CometTestServer.StartAsync(o => o.Heartbeat = 1000,
            c => c.RegisterChannel("secret", new ChannelOptions { Policy = "admins", AllowPublish = true, AllowCount = true }),
            services: s =>
            {
                s.AddAuthentication("header").AddScheme<AuthenticationSchemeOptions, RoleHeader>("header", null);
                s.AddAuthorizationBuilder().AddPolicy("admins", p => p.RequireRole("admin"));
            },
            middleware: app => app.UseAuthentication());
        CometClient Client(string? role) => new(new Uri(server.BaseUrl + "/conn"), new CometClientOptions
        {
            Transport = transport,
            Channels = ["secret", "hello"],
            Headers = { ["X-Role"] = role ?? "" },
        });
        await using var bob = Client(null);
        await using var admin = Client("admin");
        var received = new Dictionary<CometClient, List<string>> { [bob] = [], [admin] = [] };
        var refusedAtConnect = new Dictionary<CometClient, IReadOnlyList<string>>();
        var hello = new Dictionary<CometClient, TaskCompletionSource> { [bob] = new(TaskCreationOptions.RunContinuationsAsynchronously), [admin] = new(TaskCreationOptions.RunContinuationsAsynchronously) };
        foreach (var client in new[] { bob, admin })
        {
            client.Started += (_, e) => refusedAtConnect[client] = e.Refused;
            client.On("secret", m => { lock (received) received[client].Add("secret"); });
            client.On("hello", m => { lock (received) received[client].Add("hello"); hello[client].TrySetResult(); });
            await client.StartAsync(TestContext.CancellationToken);
        }
        CollectionAssert.AreEqual(new[] { "secret" }, refusedAtConnect[bob].ToArray());
        Assert.IsEmpty(refusedAtConnect[admin]);

        var sub = await Assert.ThrowsAsync<CometCommandException>(() => bob.SubscribeAsync("secret", cancellationToken: TestContext.CancellationToken));
        Assert.AreEqual("refused", sub.Error);
        Assert.IsTrue(sub.IsRefused);
        var pub = await Assert.ThrowsAsync<CometCommandException>(() => bob.PublishAsync("secret", 1, cancellationToken: TestContext.CancellationToken));
        Assert.AreEqual("refused", pub.Error);
        await Assert.ThrowsAsync<CometCommandException>(() => bob.CountAsync("secret", TestContext.CancellationToken));
        Assert.AreEqual(1, (await admin.CountAsync("secret", TestContext.CancellationToken)).Connections);

        server.Engine.SendToAll("secret", "leak");
        server.Engine.SendToAll("hello", "ok");
        await Task.WhenAll(hello[bob].Task, hello[admin].Task).WaitAsync(TimeSpan.FromSeconds(10), TestContext.CancellationToken);
        lock (received)
        {
            CollectionAssert.AreEqual(new[] { "hello" }, received[bob]);
            CollectionAssert.AreEqual(new[] { "secret", "hello" }, received[admin]);
        }
    }

    /// <summary>Every request is user "w" (a worker), with the role of its X-Role header.</summary>
    private sealed class RoleHeader(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "w"), new Claim(ClaimTypes.Role, Request.Headers["X-Role"].ToString())], "header");
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), "header")));
        }
    }
}
