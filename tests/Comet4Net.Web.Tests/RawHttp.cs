using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Comet4Net.Web.Tests;

/// <summary>Sends raw bytes as an HTTP request and reads the status line: for input HttpClient refuses to send.</summary>
internal static class RawHttp
{
    /// <summary>The status code, or 0 if the server closed the connection without answering.</summary>
    internal static async Task<int> SendAsync(Uri server, byte[] request, TimeSpan timeout, bool halfClose = false)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = new CancellationTokenSource(timeout);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port), cts.Token);
        try
        {
            await socket.SendAsync(request, SocketFlags.None, cts.Token);
            if (halfClose) socket.Shutdown(SocketShutdown.Send); // a body shorter than announced: the client gives up sending
        }
        catch (SocketException)
        {
            return 0; // the server closed on us mid-send: a refusal, not a crash
        }
        var buffer = new byte[256];
        var read = 0;
        try
        {
            while (read < 12)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cts.Token);
                if (n == 0) break;
                read += n;
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return read >= 12 ? Parse(buffer, read) : 0;
        }
        return Parse(buffer, read);
    }

    private static int Parse(byte[] buffer, int read)
    {
        var line = Encoding.ASCII.GetString(buffer, 0, read);
        return line.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(9, 3), out var status) ? status : 0;
    }
}
