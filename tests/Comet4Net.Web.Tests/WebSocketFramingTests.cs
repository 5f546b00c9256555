using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// The websocket work style from a raw TCP client that writes its own RFC 6455 frames: the handshake's
/// answer, and messages that arrive together, split into fragments, or after control frames, each
/// answered (an idle socket waits for bytes with a zero-byte read, so none may be left waiting).
/// </summary>
[TestClass]
public sealed class WebSocketFramingTests
{
    private static async Task<(TcpClient Tcp, NetworkStream Stream, V2Client Client)> OpenAsync(CometTestServer server)
    {
        var (tcp, stream, client, answer) = await HandshakeAsync(server, "13");
        StringAssert.StartsWith(answer, "HTTP/1.1 101");
        // RFC 6455 §1.3's own example key and answer.
        StringAssert.Contains(answer, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        return (tcp, stream, client);
    }

    private static async Task<(TcpClient Tcp, NetworkStream Stream, V2Client Client, string Answer)> HandshakeAsync(CometTestServer server, string version)
    {
        var client = new V2Client(server.Client);
        using var conn = await server.Client.GetAsync("/conn?cmd=conn&cv=2.0.0&ws=websocket");
        Assert.AreEqual(HttpStatusCode.OK, conn.StatusCode);
        client.Accept(V2Client.Lines(await conn.Content.ReadAsStringAsync())[0]);
        var uri = new Uri(server.BaseUrl);
        var tcp = new TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        var stream = tcp.GetStream();
        var head = $"GET {client.RevivalUrl("websocket")} HTTP/1.1\r\nHost: {uri.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                   $"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        var answer = new StringBuilder();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var one = new byte[1];
        while (!answer.ToString().EndsWith("\r\n\r\n"))
        {
            if (await stream.ReadAsync(one, cts.Token) == 0) Assert.Fail("closed during the handshake: " + answer);
            answer.Append((char)one[0]);
        }
        return (tcp, stream, client, answer.ToString());
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task An_upgrade_of_another_WebSocket_version_is_refused_with_400()
    {
        await using var server = await CometTestServer.StartAsync();
        var (tcp, _, _, answer) = await HandshakeAsync(server, "8");
        using var _tcp = tcp;
        StringAssert.StartsWith(answer, "HTTP/1.1 400");
    }

    /// <summary>A masked client frame (payloads under 126 bytes).</summary>
    private static byte[] Frame(int opcode, bool fin, string payload)
    {
        var data = Encoding.UTF8.GetBytes(payload);
        var mask = RandomNumberGenerator.GetBytes(4);
        var frame = new byte[6 + data.Length];
        frame[0] = (byte)((fin ? 0x80 : 0) | opcode);
        frame[1] = (byte)(0x80 | data.Length);
        mask.CopyTo(frame, 2);
        for (var i = 0; i < data.Length; i++) frame[6 + i] = (byte)(data[i] ^ mask[i % 4]);
        return frame;
    }

    private static byte[] Count(int id) => Frame(1, true, $"{{\"cmd\":\"count\",\"channel\":\"room\",\"id\":{id}}}");

    /// <summary>Reads the server's messages until a reply with each of <paramref name="ids"/> came.</summary>
    private static async Task<HashSet<int>> RepliesAsync(NetworkStream stream, params int[] ids)
    {
        var seen = new HashSet<int>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var header = new byte[2];
        while (!ids.All(seen.Contains))
        {
            await stream.ReadExactlyAsync(header, cts.Token);
            long length = header[1] & 0x7f;
            if (length >= 126)
            {
                var extended = new byte[length == 126 ? 2 : 8];
                await stream.ReadExactlyAsync(extended, cts.Token);
                length = extended.Aggregate(0L, (n, b) => (n << 8) | b);
            }
            var payload = new byte[length];
            await stream.ReadExactlyAsync(payload, cts.Token);
            var opcode = header[0] & 0x0f;
            if (opcode is 0x9 or 0xA) continue; // the answer to the client's ping
            Assert.AreEqual(1, opcode, "a text message: " + Encoding.UTF8.GetString(payload));
            foreach (var frame in V2Client.Lines(Encoding.UTF8.GetString(payload)))
                if (frame["data"] is JObject { } data && (string?)data["type"] == "reply") seen.Add((int)data["id"]!);
        }
        return seen;
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Commands_sent_together_split_into_fragments_or_after_control_frames_are_each_answered()
    {
        await using var server = await CometTestServer.StartAsync(setup: c => c.RegisterChannel("room", new ChannelOptions { AllowCount = true }));
        var (tcp, stream, _) = await OpenAsync(server);
        using var _tcp = tcp;

        // Alone, on an idle socket.
        await stream.WriteAsync(Count(1));
        await RepliesAsync(stream, 1);

        // Three in one write, the middle one in fragments whose last is a single byte, a pong and a ping in between.
        var second = "{\"cmd\":\"count\",\"channel\":\"room\",\"id\":3}";
        byte[] together =
        [
            .. Count(2),
            .. Frame(0xA, true, ""),
            .. Frame(1, false, second[..^1]),
            .. Frame(0x9, true, "p"),
            .. Frame(0, true, second[^1..]),
            .. Count(4),
        ];
        await stream.WriteAsync(together);
        await RepliesAsync(stream, 2, 3, 4);

        // A message whose last fragment is shorter than a frame header, then another in the same write.
        byte[] shortLast = [.. Frame(1, false, "{\"cmd\":\"count\",\"channel\":\"room\",\"id\":5"), .. Frame(0, true, "}"), .. Count(6)];
        await stream.WriteAsync(shortLast);
        await RepliesAsync(stream, 5, 6);

        // And the socket still waits for more after all that.
        await stream.WriteAsync(Count(7));
        await RepliesAsync(stream, 7);
    }
}
