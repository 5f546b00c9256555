using System.Net;
using Comet4Net.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>The chat sample as three nodes on one Redis (README, "Scaling out"), each in this process on a port of its own.</summary>
[TestClass]
public sealed class ChatClusterTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task The_header_shows_the_clusters_connection_count_whichever_node_sends_it()
    {
        if (!RedisServer.IsAvailable) Assert.Inconclusive($"redis-server is not installed ({RedisServer.ServerPath}).");
        var token = TestContext.CancellationToken;
        await using var redis = await RedisServer.StartAsync();
        var prefix = "chat" + Guid.NewGuid().ToString("N")[..8] + ":";
        var nodes = new List<WebApplication>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
        try
        {
            for (var i = 0; i < 3; i++) nodes.Add(await StartChatAsync(redis.Configuration, prefix));
            // One page on each node, each reading the health events its stream brings (every node sends its own).
            var seen = new Dictionary<string, int?>[3];
            var readers = new List<Task>();
            for (var i = 0; i < 3; i++)
            {
                var http = new HttpClient { BaseAddress = new Uri(nodes[i].Urls.First()), Timeout = Timeout.InfiniteTimeSpan };
                var client = await JoinAsync(http, "user" + i);
                var mine = seen[i] = new Dictionary<string, int?>();
                readers.Add(Task.Run(async () =>
                {
                    using (http)
                    {
                        await foreach (var frame in client.StreamAsync(stop.Token))
                            if (frame["data"] is JObject { } data && (string?)data["type"] == "health")
                                lock (mine) mine[(string)data["node"]!] = (int?)data["connectorCount"];
                    }
                }, stop.Token));
            }

            // Until each page has had every node's health saying 3 (presence reaches Redis a moment after a connect).
            bool AllSayThree() => seen.All(m =>
            {
                lock (m) return m.Count == 3 && m.Values.All(c => c == 3);
            });
            await Wait.UntilAsync(AllSayThree, 30, "every page to get every node's health with the cluster's 3 connections");
            foreach (var m in seen)
                lock (m) CollectionAssert.AreEquivalent(nodes.Select(n => n.Services.GetRequiredService<CometEngine>().NodeId).ToArray(), m.Keys.ToArray());
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    private static async Task<WebApplication> StartChatAsync(string redis, string prefix)
    {
        var root = Path.Combine(TestPaths.RepositoryRoot(), "samples", "Chat");
        var app = Comet4Net.Samples.Chat.ChatServer.Create([], new WebApplicationOptions
        {
            ContentRootPath = root,
            WebRootPath = Path.Combine(root, "wwwroot"),
            EnvironmentName = "Production",
        }, builder =>
        {
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Comet:Redis"] = redis, ["Comet:RedisPrefix"] = prefix });
        });
        await app.StartAsync();
        return app;
    }

    private static async Task<V2Client> JoinAsync(HttpClient http, string name)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/conn?cmd=conn&cv=2.0.0&ws=stream");
        request.Headers.Add("Cookie", "userName=" + name);
        using var response = await http.SendAsync(request);
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        var client = new V2Client(http);
        client.Accept(V2Client.Lines(await response.Content.ReadAsStringAsync())[0]);
        return client;
    }
}
