using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Comet4Net.Events;

namespace Comet4Net.Web.Tests;

/// <summary>A client that stops reading must slow neither the sender nor the other clients.</summary>
[TestClass]
[DoNotParallelize] // a thousand sockets (or thousands of requests): alone, so that neither it nor its neighbours time out
public sealed class SlowClientTests
{
    private const int Readers = 1000;
    private const int Burst = 50;

    [TestMethod]
    [Timeout(120000, CooperativeCancellation = true)]
    public async Task One_client_reading_nothing_does_not_delay_a_thousand_others()
    {
        var dying = new List<string>();
        await using var server = await CometTestServer.StartAsync(o =>
        {
            o.SendTimeout = 1000;
            o.MaxConnectionsPerClient = 0;
            o.MaxPendingMessages = 100000;
            o.MaxPendingBytes = 1L << 30;
            o.Heartbeat = 0;
        }, context => context.Engine.On<DyingEvent>(e => { lock (dying) dying.Add(e.Connection!.Id); }));
        using var http = server.NewClient(maxConnections: 2000);
        http.Timeout = Timeout.InfiniteTimeSpan;

        // A thousand readers on v2 streams.
        var readers = new List<Reader>();
        for (var i = 0; i < Readers; i++)
        {
            var client = new V2Client(http);
            await client.ConnectAsync("stream");
            readers.Add(new Reader(client));
        }
        using var stop = new CancellationTokenSource();
        var reading = readers.Select(r => r.RunAsync(stop.Token)).ToArray();
        await Wait.UntilAsync(() => readers.All(r => r.Opened), 60, "every reader's stream to open");

        var baseline = await BurstAsync(server.Engine, readers, 0, null);

        // One more client opens a stream and never reads; it is sent 64 KiB messages until its socket is full.
        var slow = new V2Client(http);
        await slow.ConnectAsync("stream");
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, new Uri(server.BaseUrl).Port));
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {slow.RevivalUrl("stream")} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), SocketFlags.None);
        await Wait.UntilAsync(() => server.Engine.GetConnection(slow.Id)!.State == ConnectionState.Alive, 10, "the slow stream to attach");

        var withSlow = await BurstAsync(server.Engine, readers, Burst, server.Engine.GetConnection(slow.Id));

        TestContext.WriteLine($"burst of {Burst} to {Readers} readers: {baseline.Delivery.TotalMilliseconds:F0} ms alone, " +
                              $"{withSlow.Delivery.TotalMilliseconds:F0} ms beside a client that reads nothing; sends took {withSlow.Sending.TotalMilliseconds:F0} ms");
        Assert.IsLessThan(TimeSpan.FromSeconds(1), withSlow.Sending, "SendToAll/SendTo never wait for a client");
        Assert.IsLessThan(baseline.Delivery * 3 + TimeSpan.FromSeconds(1), withSlow.Delivery, "the others' delivery time");

        // The slow client's request is ended after SendTimeout; its connection is kept (dying) as for any lost request.
        await Wait.UntilAsync(() => { lock (dying) return dying.Contains(slow.Id); }, 15, "the slow client's request to be ended");
        Assert.IsGreaterThan(0, server.Engine.GetStatistics().LimitHits);
        stop.Cancel();
        await Task.WhenAll(reading.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
    }

    private static async Task<(TimeSpan Sending, TimeSpan Delivery)> BurstAsync(CometEngine engine, List<Reader> readers, int offset, CometConnection? slow)
    {
        var big = new string('x', 64 * 1024);
        var clock = Stopwatch.StartNew();
        for (var i = offset; i < offset + Burst; i++)
        {
            engine.SendToAll("news", i);
            if (slow is not null) engine.SendTo("hello", slow, big);
        }
        var sending = clock.Elapsed;
        await Wait.UntilAsync(() => readers.All(r => r.Count >= offset + Burst), 30, "every reader to get the burst");
        var delivery = clock.Elapsed;
        foreach (var r in readers) CollectionAssert.AreEqual(Enumerable.Range(0, offset + Burst).ToArray(), r.Values());
        return (sending, delivery);
    }

    public TestContext TestContext { get; set; } = null!;

    private sealed class Reader(V2Client client)
    {
        private readonly List<int> _values = new();
        internal volatile bool Opened;
        internal int Count { get { lock (_values) return _values.Count; } }
        internal int[] Values() { lock (_values) return _values.ToArray(); }

        internal async Task RunAsync(CancellationToken token)
        {
            await foreach (var frame in client.StreamAsync(token))
            {
                Opened = true;
                if (frame["seq"] is not null) lock (_values) _values.Add((int)frame["data"]!);
            }
        }
    }
}
