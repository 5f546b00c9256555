using System.Net;
using System.Text;
using Comet4Net.Tests.Shared;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// No message lost, none twice: clients following docs/protocol.md behind a proxy that cuts 10% of
/// the /conn answers part-way and delays others, while 2,000 numbered messages go out.
/// </summary>
[TestClass]
public sealed class ChaosTests
{
    private const int Messages = 2000;
    private const int Clients = 4;

    [TestMethod]
    [Timeout(120000, CooperativeCancellation = true)]
    [DataRow("lpool")]
    [DataRow("stream")]
    [DataRow("sse")]
    public async Task Every_client_gets_every_message_once_in_order_through_a_faulty_proxy(string style)
    {
        await using var server = await CometTestServer.StartAsync(o => { o.Timeout = 500; o.Heartbeat = 200; o.MaxConnectionsPerClient = 0; });
        await using var proxy = await ChaosProxy.StartAsync(new Uri(server.BaseUrl), seed: style.Length);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(proxy.Url), Timeout = TimeSpan.FromSeconds(20) };
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, Clients).Select(_ => new ChaosClient(http, style)).ToList();
        var running = clients.Select(c => c.RunAsync(stop.Token)).ToList();
        await Wait.UntilAsync(() => clients.All(c => c.Connected), 20, "every client to connect");

        var random = new Random(11);
        for (var i = 0; i < Messages; i++)
        {
            if (random.Next(2) == 0) server.Engine.SendToAll("news", i);
            else Assert.AreEqual(Clients, server.Engine.SendTo("hello", server.Engine.Connections, i));
            if (i % 4 == 0) await Task.Delay(10); // spread over several seconds so that many answers are cut
        }
        await Wait.UntilAsync(() => clients.All(c => c.Count >= Messages), 60, "every client to receive every message");
        stop.Cancel();
        await Task.WhenAll(running.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));

        foreach (var c in clients)
        {
            TestContext.WriteLine($"{style}: sent {Messages}, received {c.Count}, duplicates {c.Duplicates}, reordered {c.Reordered}, " +
                                  $"resent-and-dropped {c.Resent}, gaps {c.Gaps}, retries {c.Retries}");
            CollectionAssert.AreEqual(Enumerable.Range(0, Messages).ToArray(), c.Values);
            Assert.AreEqual(0, c.Duplicates);
            Assert.AreEqual(0, c.Reordered);
            Assert.AreEqual(0, c.Gaps);
        }
        TestContext.WriteLine($"{style}: proxy saw {proxy.Requests} /conn requests, cut {proxy.Cuts}, delayed {proxy.Delays}");
        Assert.IsGreaterThanOrEqualTo(2, proxy.Cuts, "the proxy must actually have cut answers");
    }

    [TestMethod]
    [Timeout(60000, CooperativeCancellation = true)]
    public async Task A_client_away_longer_than_the_kept_history_is_told_of_the_gap()
    {
        await using var server = await CometTestServer.StartAsync(o => { o.Timeout = 1000; o.CacheExpires = 500; o.CacheFrequency = 100; o.ConnExpires = 60000; });
        await using var proxy = await ChaosProxy.StartAsync(new Uri(server.BaseUrl));
        proxy.Enabled = false;
        using var http = new HttpClient { BaseAddress = new Uri(proxy.Url), Timeout = TimeSpan.FromSeconds(20) };
        using var stop = new CancellationTokenSource();
        var client = new ChaosClient(http, "stream");
        var running = client.RunAsync(stop.Token);
        await Wait.UntilAsync(() => client.Connected, 10, "the client to connect");
        server.Engine.SendToAll("news", 0);
        await Wait.UntilAsync(() => client.Count == 1, 10, "the first message");
        proxy.Blackhole = true;
        await Wait.UntilAsync(() => server.Engine.GetConnection(client.Id)!.State == ConnectionState.Dying, 10, "the client to be away");
        for (var i = 1; i <= 5; i++) server.Engine.SendToAll("news", i);
        await Wait.UntilAsync(() => server.Engine.GetStatistics().LogMessages == 0, 10, "the history to expire");
        server.Engine.SendToAll("news", 6);
        proxy.Blackhole = false;
        await Wait.UntilAsync(() => client.Count == 2, 20, "the message after the gap");
        Assert.AreEqual(1, client.Gaps);
        CollectionAssert.AreEqual(new[] { 0, 6 }, client.Values);
        stop.Cancel();
        await running.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    public TestContext TestContext { get; set; } = null!;

    /// <summary>A v2 client that retries forever, acks what it processed and keeps only whole frames.</summary>
    private sealed class ChaosClient(HttpClient http, string style)
    {
        private readonly List<int> _values = new();
        private string _cid = "", _secret = "";
        private long _lastSeq;
        internal volatile bool Connected;
        internal int Duplicates, Reordered, Resent, Gaps, Retries;
        internal string Id => _cid;
        internal int Count { get { lock (_values) return _values.Count; } }
        internal int[] Values { get { lock (_values) return _values.ToArray(); } }

        internal async Task RunAsync(CancellationToken stop)
        {
            var delay = 20;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    if (_cid.Length == 0) await ConnectAsync(stop);
                    else await ReviveAsync(stop);
                    delay = 20;
                }
                catch (Exception) when (!stop.IsCancellationRequested)
                {
                    Interlocked.Increment(ref Retries);
                    await Task.Delay(Random.Shared.Next(delay / 2, delay), stop).ContinueWith(_ => { }, TaskScheduler.Default);
                    delay = Math.Min(delay * 2, 500);
                }
            }
        }

        private async Task ConnectAsync(CancellationToken stop)
        {
            using var response = await http.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=" + (style == "sse" ? "lpool" : style), stop);
            response.EnsureSuccessStatusCode();
            var data = (JObject)JObject.Parse(await response.Content.ReadAsStringAsync(stop))["data"]!;
            _cid = (string)data["cId"]!;
            _secret = (string)data["cs"]!;
            _lastSeq = (long)data["seq"]!;
            Connected = true;
        }

        private async Task ReviveAsync(CancellationToken stop)
        {
            var url = $"/conn?cmd=revival&cid={_cid}&cs={_secret}&ws={style}";
            using var request = new HttpRequestMessage(HttpMethod.Get, style == "sse" ? url : url + "&ack=" + _lastSeq);
            if (style == "sse") request.Headers.Add("Last-Event-ID", _lastSeq.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop);
            if (response.StatusCode == HttpStatusCode.NotFound) Assert.Fail("the server forgot a connection that was never away long");
            response.EnsureSuccessStatusCode();
            await using var body = await response.Content.ReadAsStreamAsync(stop);
            var pending = new StringBuilder();
            var buffer = new byte[8192];
            var decoder = Encoding.UTF8.GetDecoder();
            var chars = new char[8192];
            while (true)
            {
                var n = await body.ReadAsync(buffer, stop);
                if (n == 0) break;
                var c = decoder.GetChars(buffer, 0, n, chars, 0);
                pending.Append(chars, 0, c);
                var separator = style == "sse" ? "\n\n" : "\n";
                var text = pending.ToString();
                var end = text.LastIndexOf(separator, StringComparison.Ordinal);
                if (end < 0) continue;
                foreach (var unit in text[..end].Split(separator, StringSplitOptions.RemoveEmptyEntries)) Handle(unit);
                pending.Clear().Append(text[(end + separator.Length)..]); // an unfinished frame waits for the rest, or is dropped with a cut
            }
        }

        private void Handle(string unit)
        {
            long? seq = null;
            JToken? data;
            string channel;
            if (style == "sse")
            {
                string? id = null, ev = null, payload = null;
                foreach (var line in unit.Split('\n'))
                {
                    if (line.StartsWith("id: ", StringComparison.Ordinal)) id = line[4..];
                    else if (line.StartsWith("event: ", StringComparison.Ordinal)) ev = line[7..];
                    else if (line.StartsWith("data: ", StringComparison.Ordinal)) payload = line[6..];
                }
                if (payload is null) return; // comment / retry only
                channel = ev ?? "message";
                data = JToken.Parse(payload);
                if (id is not null) seq = long.Parse(id, System.Globalization.CultureInfo.InvariantCulture);
            }
            else
            {
                var frame = JObject.Parse(unit);
                channel = (string)frame["channel"]!;
                data = frame["data"];
                seq = (long?)frame["seq"];
            }
            if (channel == "c4j")
            {
                if ((string?)data!["type"] == "gap") Interlocked.Increment(ref Gaps);
                return;
            }
            if (seq <= _lastSeq)
            {
                Interlocked.Increment(ref Resent);
                return;
            }
            _lastSeq = seq!.Value;
            var value = (int)data!;
            lock (_values)
            {
                if (_values.Contains(value)) Duplicates++;
                if (_values.Count > 0 && value < _values[^1]) Reordered++;
                _values.Add(value);
            }
        }
    }
}
