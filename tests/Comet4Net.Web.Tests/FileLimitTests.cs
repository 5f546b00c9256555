using System.Net.Sockets;
using System.Text;
using Comet4Net.Tests.Shared;

namespace Comet4Net.Web.Tests;

/// <summary>A node that runs out of open files must refuse the connections past its limit, not die.</summary>
[TestClass]
public sealed class FileLimitTests
{
    [TestMethod]
    [Timeout(120000, CooperativeCancellation = true)]
    public async Task A_node_at_its_open_file_limit_refuses_the_connections_past_it_and_serves_the_others()
    {
        await using var node = await NodeProcess.StartChatAsync(new Dictionary<string, string>
        {
            ["Comet__MaxConnectionsPerClient"] = "0",
            ["Logging__LogLevel__Comet4Net"] = "Information",
        }, TimeSpan.FromSeconds(30), fileLimit: 600);
        StringAssert.Contains(node.Output, "the open-file limit is 600");
        var uri = new Uri(node.BaseUrl);
        var request = Encoding.ASCII.GetBytes($"GET /conn?cmd=conn&cv=2.0.0&ws=sse HTTP/1.1\r\nHost: {uri.Authority}\r\nAccept: text/event-stream\r\n\r\n");
        var sockets = new List<TcpClient>();
        int served = 0, refused = 0;
        try
        {
            for (var i = 0; i < 700; i++)
            {
                var tcp = new TcpClient();
                sockets.Add(tcp);
                if (await AskAsync(tcp, uri, request)) served++;
                else refused++;
                Assert.IsFalse(node.HasExited, $"the node died after {i + 1} connections: {node.Output}");
            }
            Assert.IsGreaterThan(200, served, "connections within the limit are served");
            Assert.IsGreaterThan(0, refused, "connections past the limit are refused");
        }
        finally
        {
            foreach (var tcp in sockets) tcp.Dispose();
        }
        // Served again once clients went away.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            using var tcp = new TcpClient();
            if (await AskAsync(tcp, uri, request)) break;
            if (DateTime.UtcNow > deadline) Assert.Fail("a new client is not served after the others left: " + node.Output);
            await Task.Delay(200);
        }
        Assert.IsFalse(node.HasExited, node.Output);
    }

    /// <summary>True if the SSE connect is answered 200; false if the connection is closed or reset without an answer.</summary>
    private static async Task<bool> AskAsync(TcpClient tcp, Uri uri, byte[] request)
    {
        try
        {
            await tcp.ConnectAsync(uri.Host, uri.Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync(request);
            var head = new byte[12];
            var read = 0;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (read < head.Length)
            {
                var n = await stream.ReadAsync(head.AsMemory(read), timeout.Token);
                if (n == 0) return false;
                read += n;
            }
            return Encoding.ASCII.GetString(head) == "HTTP/1.1 200";
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
