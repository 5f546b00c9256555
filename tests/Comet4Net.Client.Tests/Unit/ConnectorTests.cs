using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Web;

namespace Comet4Net.Client.Tests.Unit;

/// <summary>The connector's state machine against a scripted server (no network): what each answer leads to.</summary>
[TestClass]
public sealed class ConnectorTests
{
    public TestContext TestContext { get; set; } = null!;

    private static string Conn(string cid, long seq = 4) =>
        $"{{\"channel\":\"c4j\",\"data\":{{\"type\":\"conn\",\"cId\":\"{cid}\",\"cs\":\"S{cid}\",\"channels\":[\"news\"],\"ws\":\"lpool\",\"timeout\":60000,\"heartbeat\":15000,\"seq\":{seq},\"epoch\":\"E\",\"resume\":60000,\"v\":2}}}}\n";

    private static string Msg(long seq, int n) => $"{{\"seq\":{seq},\"channel\":\"news\",\"data\":{{\"n\":{n}}},\"time\":1}}\n";

    /// <summary>Answers each request with the next scripted answer for its command; a revival without one waits.</summary>
    private sealed class ScriptedServer : HttpMessageHandler
    {
        private readonly ConcurrentQueue<Func<HttpResponseMessage>> _conn = new(), _revival = new();
        internal readonly ConcurrentQueue<(DateTime At, string Cmd, System.Collections.Specialized.NameValueCollection Query)> Requests = new();

        internal void OnConn(HttpStatusCode status, string body, Action<HttpResponseMessage>? edit = null) => _conn.Enqueue(() => Answer(status, body, edit));

        internal void OnRevival(HttpStatusCode status, string body, Action<HttpResponseMessage>? edit = null) => _revival.Enqueue(() => Answer(status, body, edit));

        /// <summary>The next revival fails on the network (connection refused).</summary>
        internal void OnRevivalNetworkFailure() => _revival.Enqueue(() => throw new HttpRequestException("refused", null, HttpStatusCode.ServiceUnavailable));

        /// <summary>The next revival fails with what a socket throws from deep in the stack.</summary>
        internal void OnRevivalThrow(Exception e) => _revival.Enqueue(() => throw e);

        private static HttpResponseMessage Answer(HttpStatusCode status, string body, Action<HttpResponseMessage>? edit)
        {
            var response = new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8) };
            edit?.Invoke(response);
            return response;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var query = HttpUtility.ParseQueryString(request.RequestUri!.Query);
            var cmd = query["cmd"] ?? "";
            Requests.Enqueue((DateTime.UtcNow, cmd, query));
            var queue = cmd == "conn" ? _conn : cmd == "revival" ? _revival : null;
            if (queue is null) return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"ok\":true}") };
            while (true)
            {
                if (queue.TryDequeue(out var next)) return next();
                await Task.Delay(20, cancellationToken);
            }
        }
    }

    private static (CometClient Client, List<int> Values, List<CometGapEventArgs> Gaps, TaskCompletionSource<CometStoppedEventArgs> Stopped) Client(ScriptedServer server)
    {
        var client = new CometClient(new Uri("http://comet.test/conn"), new CometClientOptions { Transport = "lpool", RetryBase = TimeSpan.FromMilliseconds(10) },
            new HttpClient(server) { Timeout = Timeout.InfiniteTimeSpan });
        var values = new List<int>();
        var gaps = new List<CometGapEventArgs>();
        var stopped = new TaskCompletionSource<CometStoppedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.On<Dictionary<string, int>>("news", (data, _) =>
        {
            lock (values) values.Add(data!["n"]);
            return ValueTask.CompletedTask;
        });
        client.Gap += (_, e) => { lock (gaps) gaps.Add(e); };
        client.Stopped += (_, e) => stopped.TrySetResult(e);
        return (client, values, gaps, stopped);
    }

    [TestMethod]
    [Timeout(20_000, CooperativeCancellation = true)]
    public async Task A_refused_connect_stops_the_client_and_StartAsync_says_why()
    {
        var server = new ScriptedServer();
        server.OnConn(HttpStatusCode.Forbidden, "{\"error\":\"refused\",\"message\":\"no entry\"}");
        var (client, _, _, stopped) = Client(server);
        await using var _ = client;
        var e = await Assert.ThrowsAsync<CometClientException>(() => client.StartAsync(TestContext.CancellationToken));
        Assert.AreEqual(CometStopReason.Refused, e.Reason);
        Assert.AreEqual("no entry", e.Message);
        Assert.AreEqual(CometStopReason.Refused, (await stopped.Task).Reason);
        Assert.AreEqual(CometClientState.Stopped, client.State);
    }

    [TestMethod]
    [Timeout(20_000, CooperativeCancellation = true)]
    public async Task Resent_messages_are_dispatched_once_acks_follow_and_503_waits_for_Retry_After_then_410_stops()
    {
        var server = new ScriptedServer();
        server.OnConn(HttpStatusCode.OK, Conn("A"));
        server.OnRevival(HttpStatusCode.OK, Msg(5, 1) + Msg(6, 2));
        server.OnRevival(HttpStatusCode.OK, Msg(6, 2) + Msg(7, 3)); // 6 again: a re-send after a cut
        server.OnRevival(HttpStatusCode.ServiceUnavailable, "{\"error\":\"unavailable\",\"message\":\"redis\"}",
            r => r.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(1)));
        server.OnRevival(HttpStatusCode.Gone, "{\"error\":\"kicked\",\"message\":\"kicked\",\"channel\":\"c4j\",\"data\":{\"type\":\"kicked\",\"reason\":\"bye\"}}");
        var (client, values, _, stopped) = Client(server);
        await using var _ = client;
        await client.StartAsync(TestContext.CancellationToken);
        var stop = await stopped.Task.WaitAsync(TimeSpan.FromSeconds(15), TestContext.CancellationToken);
        Assert.AreEqual(CometStopReason.Kicked, stop.Reason);
        Assert.AreEqual("bye", stop.Message);
        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, values);
        var revivals = server.Requests.Where(r => r.Cmd == "revival").ToList();
        CollectionAssert.AreEqual(new[] { "4", "6", "7", "7" }, revivals.Select(r => r.Query["ack"]).ToArray());
        Assert.IsTrue(revivals.All(r => r.Query["cid"] == "A" && r.Query["cs"] == "SA" && r.Query["ep"] == "E" && r.Query["ws"] == "lpool"));
        Assert.IsGreaterThanOrEqualTo(TimeSpan.FromSeconds(1), revivals[3].At - revivals[2].At, "Retry-After was not honoured");
        Assert.IsFalse(server.Requests.Any(r => r.Cmd == "drop"), "a kicked client does not drop");
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public async Task A_second_503_draining_in_a_row_waits_within_the_nodes_spread_until_a_node_answers()
    {
        // A spread of 3 s: its waits (1.5 to 3 s) stand far from the others (250 ms at most, 10 ms base), so a test run on a busy
        // machine, where any wait can come late by a second, still tells them apart.
        const string draining = "{\"error\":\"draining\",\"message\":\"go elsewhere\",\"spread\":3000}";
        var server = new ScriptedServer();
        server.OnConn(HttpStatusCode.OK, Conn("A"));
        server.OnRevival(HttpStatusCode.ServiceUnavailable, draining); // the first: again at once (another node may answer)
        server.OnRevival(HttpStatusCode.ServiceUnavailable, draining); // the second in a row: nowhere else to go
        server.OnRevivalNetworkFailure(); // the node is gone: still the spread
        server.OnRevival(HttpStatusCode.OK, Msg(5, 1)); // a node answers
        server.OnRevivalNetworkFailure(); // a failure after that: the usual backoff (10 ms base here)
        server.OnRevival(HttpStatusCode.Gone, "{\"error\":\"kicked\",\"message\":\"kicked\"}");
        var (client, values, _, stopped) = Client(server);
        await using var _ = client;
        await client.StartAsync(TestContext.CancellationToken);
        await stopped.Task.WaitAsync(TimeSpan.FromSeconds(25), TestContext.CancellationToken);
        CollectionAssert.AreEqual(new[] { 1 }, values);
        var at = server.Requests.Where(r => r.Cmd == "revival").Select(r => r.At).ToList();
        Assert.HasCount(6, at);
        Assert.IsLessThan(TimeSpan.FromMilliseconds(1250), at[1] - at[0], "the first 503 draining: again within 250 ms, not after the spread");
        Assert.IsGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(1480), at[2] - at[1], "the second in a row: at least half the spread");
        Assert.IsGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(1480), at[3] - at[2], "a network failure after it: still the spread");
        Assert.IsLessThan(TimeSpan.FromMilliseconds(1250), at[5] - at[4], "once a node answered, the usual backoff again, not the spread");
    }

    [TestMethod]
    [Timeout(20_000, CooperativeCancellation = true)]
    public async Task An_unknown_connection_is_a_gap_and_a_new_connect_naming_the_channels()
    {
        var server = new ScriptedServer();
        server.OnConn(HttpStatusCode.OK, Conn("A"));
        server.OnRevival(HttpStatusCode.OK, Msg(5, 1) + "{\"channel\":\"c4j\",\"data\":{\"type\":\"gap\",\"from\":6,\"to\":8}}\n" + Msg(9, 2));
        server.OnRevival(HttpStatusCode.NotFound, "{\"error\":\"unknown-cid\",\"message\":\"gone\",\"channel\":\"c4j\",\"data\":{\"type\":\"reconnect\"}}");
        server.OnConn(HttpStatusCode.OK, Conn("B", 100));
        server.OnRevival(HttpStatusCode.OK, Msg(101, 3));
        var (client, values, gaps, _) = Client(server);
        var started = new List<string>();
        client.Started += (_, e) => { lock (started) started.Add(e.ConnectionId); };
        await using (client)
        {
            await client.StartAsync(TestContext.CancellationToken);
            while (values.Count < 3) await Task.Delay(20, TestContext.CancellationToken);
            await client.StopAsync(TestContext.CancellationToken);
        }
        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, values);
        CollectionAssert.AreEqual(new[] { "A", "B" }, started);
        Assert.HasCount(2, gaps);
        Assert.AreEqual((6L, (long?)8L, "gap"), (gaps[0].From, gaps[0].To, gaps[0].Reason));
        Assert.AreEqual((10L, (long?)null, "reset"), (gaps[1].From, gaps[1].To, gaps[1].Reason));
        var conns = server.Requests.Where(r => r.Cmd == "conn").ToList();
        Assert.IsTrue(conns.All(c => c.Query["sub"] == "news" && c.Query["cv"] == "2.0.0" && c.Query["ws"] == "lpool"));
        var drop = server.Requests.Single(r => r.Cmd == "drop");
        Assert.AreEqual(("B", "SB"), (drop.Query["cid"], drop.Query["cs"]), "StopAsync drops the connection");
    }

    [TestMethod]
    [Timeout(20_000, CooperativeCancellation = true)]
    public async Task ReadAllAsync_buffers_from_the_call_and_a_reader_that_leaves_does_not_hold_the_client()
    {
        var server = new ScriptedServer();
        server.OnConn(HttpStatusCode.OK, Conn("A"));
        server.OnRevival(HttpStatusCode.OK, Msg(5, 1) + Msg(6, 2) + Msg(7, 3));
        server.OnRevival(HttpStatusCode.OK, Msg(8, 4) + Msg(9, 5));
        var (client, values, _, _) = Client(server);
        await using var _ = client;
        var all = client.ReadAllAsync(TestContext.CancellationToken); // not enumerated yet
        await client.StartAsync(TestContext.CancellationToken);
        while (values.Count < 3) await Task.Delay(20, TestContext.CancellationToken);
        var read = new List<int>();
        await foreach (var m in all)
        {
            read.Add(m.GetData<Number>()!.N);
            if (read.Count == 2) break;
        }
        CollectionAssert.AreEqual(new[] { 1, 2 }, read);
        while (values.Count < 5) await Task.Delay(20, TestContext.CancellationToken); // the handlers go on
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 4, 5 }, values);
    }

    private sealed record Number(int N);

    [TestMethod]
    [Timeout(20_000, CooperativeCancellation = true)]
    public async Task The_connector_walks_its_states_connecting_opening_open_waiting_and_stopped()
    {
        var server = new ScriptedServer();
        server.OnConn(HttpStatusCode.OK, Conn("A"));
        server.OnRevival(HttpStatusCode.OK, Msg(5, 1));
        server.OnRevivalNetworkFailure();
        server.OnRevival(HttpStatusCode.OK, Msg(6, 2));
        server.OnRevival(HttpStatusCode.Gone, "{\"error\":\"kicked\",\"message\":\"kicked\"}");
        var (client, values, _, stopped) = Client(server);
        await using var _ = client;
        var states = new List<CometClientState>();
        client.StateChanged += (_, s) => { lock (states) states.Add(s); };
        Assert.AreEqual(CometClientState.Idle, client.State);
        await client.StartAsync(TestContext.CancellationToken);
        await stopped.Task.WaitAsync(TimeSpan.FromSeconds(15), TestContext.CancellationToken);
        CollectionAssert.AreEqual(new[]
        {
            CometClientState.Connecting, CometClientState.Opening, CometClientState.Open, // conn, the first long poll answered
            CometClientState.Opening, CometClientState.Waiting,                           // the next one fails: backoff
            CometClientState.Opening, CometClientState.Open,                              // the same position again
            CometClientState.Opening, CometClientState.Stopped,                           // 410
        }, states);
        CollectionAssert.AreEqual(new[] { 1, 2 }, values);
        Assert.AreEqual("5", server.Requests.Where(r => r.Cmd == "revival").ElementAt(2).Query["ack"], "the failed poll's position is asked again");
    }

    [TestMethod]
    [Timeout(20_000, CooperativeCancellation = true)]
    public async Task An_unexpected_exception_from_the_stack_is_a_network_failure_not_the_end_of_the_client()
    {
        var server = new ScriptedServer();
        server.OnConn(HttpStatusCode.OK, Conn("A"));
        server.OnRevivalThrow(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.NotConnected));
        server.OnRevivalThrow(new InvalidOperationException("something odd"));
        server.OnRevival(HttpStatusCode.OK, Msg(5, 1));
        server.OnRevival(HttpStatusCode.Gone, "{\"error\":\"kicked\",\"message\":\"kicked\"}");
        var (client, values, _, stopped) = Client(server);
        await using var _ = client;
        await client.StartAsync(TestContext.CancellationToken);
        Assert.AreEqual(CometStopReason.Kicked, (await stopped.Task.WaitAsync(TimeSpan.FromSeconds(15), TestContext.CancellationToken)).Reason);
        CollectionAssert.AreEqual(new[] { 1 }, values);
    }
}
