using System.Net;
using System.Text.RegularExpressions;
using Comet4Net.Tests.Shared;

namespace Comet4Net.Web.Tests;

/// <summary>
/// The shipped nginx files (samples/nginx-unix.conf, samples/nginx-cluster.conf) run in front of a Comet
/// server, with only their upstream, port and log path changed: what they write to the access log holds no
/// connection secret (<c>cs=</c>) and no token, while every /conn request is still logged with its command.
/// </summary>
[TestClass]
public sealed partial class NginxAccessLogTests
{
    private const string TokenKey = "a-test-token-key-of-at-least-32-characters";

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task The_unix_site_logs_conn_requests_without_secrets()
    {
        const string Socket = "server unix:/run/comet4net/chat.sock;";
        const string Listen = "listen 80;";
        const string Log = "access_log /var/log/nginx/access.log comet4net;";
        var site = await ReadSampleAsync("nginx-unix.conf", Socket, Listen, Log);
        await RunAndCheckAsync((port, upstream, log) => site
            .Replace(Socket, $"server {upstream};", StringComparison.Ordinal)
            .Replace(Listen, $"listen 127.0.0.1:{port};", StringComparison.Ordinal)
            .Replace(Log, $"access_log {log} comet4net;", StringComparison.Ordinal));
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task The_cluster_config_logs_conn_requests_without_secrets()
    {
        const string Listen = "listen 127.0.0.1:8080;";
        const string Log = "access_log nginx-comet-access.log comet4net;";
        var config = await ReadSampleAsync("nginx-cluster.conf", Listen, Log);
        // The test's nginx sets its own pid, error log and temp paths: the http block is what runs, with the
        // three nodes made the one test server. Its http level says "access_log off", which would cancel the
        // file's access_log beside it: so the file's line moves into the server block (same log, same format).
        var http = config[(config.IndexOf("http {", StringComparison.Ordinal) + "http {".Length)..config.LastIndexOf('}')];
        http = TempPath().Replace(http, "");
        await RunAndCheckAsync((port, upstream, log) => NodeLine().Replace(http, m => m.Value.Contains(":5001", StringComparison.Ordinal) ? $"server {upstream};" : "")
            .Replace(Log, "", StringComparison.Ordinal)
            .Replace(Listen, $"listen 127.0.0.1:{port};\n        access_log {log} comet4net;", StringComparison.Ordinal));
    }

    /// <summary>
    /// Starts a server that requires tokens and nginx with <paramref name="site"/> (given nginx's port, the
    /// upstream address and the access log's path), connects with a token, polls with the secret, drops, and
    /// checks the access log.
    /// </summary>
    private async Task RunAndCheckAsync(Func<int, string, string, string> site)
    {
        if (!NginxProxy.IsAvailable) Assert.Inconclusive($"nginx is not installed ({NginxProxy.NginxPath}).");
        var token = TestContext.CancellationToken;
        await using var server = await CometTestServer.StartAsync(o => { o.TokenKey = TokenKey; o.RequireToken = true; });
        var upstream = new Uri(server.BaseUrl).Authority;
        string? logPath = null;
        await using var nginx = await NginxProxy.StartAsync(port =>
        {
            // The log goes in a directory of its own that nginx's workers (another user when run as root) can write.
            var directory = Path.Combine(Path.GetTempPath(), "c4n-log-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(directory);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(directory, (UnixFileMode)0b111_111_111);
            logPath = Path.Combine(directory, "access.log");
            return site(port, upstream, logPath);
        }, token);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(nginx.Url), Timeout = TimeSpan.FromSeconds(30) };
            var signed = server.Context.Tokens!.Issue("alice", TimeSpan.FromMinutes(2));
            var client = new V2Client(http);
            using (var conn = await http.GetAsync($"/conn?cmd=conn&cv=2.0.0&ws=lpool&token={Uri.EscapeDataString(signed)}", token))
            {
                Assert.AreEqual(HttpStatusCode.OK, conn.StatusCode, await conn.Content.ReadAsStringAsync(token));
                client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync(token))[0]);
            }
            await server.Engine.SendToAllAsync("news", "through nginx");
            var (status, frames) = await client.PollAsync(token);
            Assert.AreEqual(HttpStatusCode.OK, status);
            Assert.AreEqual("through nginx", (string?)frames.Single(f => f["seq"] is not null)["data"]);
            using (var drop = await http.GetAsync($"/conn?cmd=drop&cid={client.Id}&cs={client.Secret}", token))
                Assert.AreEqual(HttpStatusCode.OK, drop.StatusCode);

            // nginx writes a request's line when it ends: wait for the three.
            string log = "";
            await Wait.UntilAsync(() => (log = Read(logPath!)).Split('\n').Count(l => l.Contains("/conn?cmd=", StringComparison.Ordinal)) >= 3, 10,
                "three /conn lines in the access log");
            StringAssert.Contains(log, "GET /conn?cmd=conn ");
            StringAssert.Contains(log, "GET /conn?cmd=revival ");
            StringAssert.Contains(log, "GET /conn?cmd=drop ");
            Assert.DoesNotContain(client.Secret, log, "the connection's secret");
            Assert.DoesNotContain("cs=", log);
            Assert.DoesNotContain("token=", log);
            Assert.DoesNotContain(Uri.EscapeDataString(signed), log, "the token");
        }
        finally
        {
            if (logPath is not null) Directory.Delete(Path.GetDirectoryName(logPath)!, recursive: true);
        }
    }

    private static async Task<string> ReadSampleAsync(string name, params string[] lines)
    {
        var text = await File.ReadAllTextAsync(Path.Combine(TestPaths.RepositoryRoot(), "samples", name));
        foreach (var line in lines) StringAssert.Contains(text, line, $"samples/{name} has the line the test replaces");
        return text;
    }

    private static string Read(string path)
    {
        if (!File.Exists(path)) return "";
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }

    [GeneratedRegex(@"server 127\.0\.0\.1:500\d[^;]*;")]
    private static partial Regex NodeLine();

    [GeneratedRegex(@"(?m)^\s*(client_body_temp_path|proxy_temp_path)\s[^;]*;")]
    private static partial Regex TempPath();
}
