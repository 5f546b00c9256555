using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Comet4Net.Bench;

/// <summary>
/// A lean HTTP/1.1 client on one socket: the same code for every server under test, so that the
/// client's cost is equal. Bodies are handed over as they arrive (chunked or sized).
/// </summary>
internal sealed class RawHttp : IDisposable
{
    private static int _next;
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[16384];
    private int _start, _end;

    private RawHttp(Socket socket) => _socket = socket;

    internal static async Task<RawHttp> ConnectAsync(int port, CancellationToken token)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        // Spread the client ends over several loopback addresses so ports never run short.
        var local = new IPAddress(new byte[] { 127, 0, 0, (byte)(2 + Interlocked.Increment(ref _next) % 8) });
        socket.Bind(new IPEndPoint(local, 0));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), token);
        return new RawHttp(socket);
    }

    internal async Task SendAsync(string method, string path, string? body = null, string? extraHeaders = null, CancellationToken token = default)
    {
        var bytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        var head = $"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extraHeaders}Content-Length: {bytes.Length}\r\n\r\n";
        await _socket.SendAsync(Encoding.ASCII.GetBytes(head).Concat(bytes).ToArray(), SocketFlags.None, token);
    }

    private async Task<bool> FillAsync(CancellationToken token)
    {
        if (_start > 0 && _start == _end) _start = _end = 0;
        if (_end == _buffer.Length)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        var n = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, token);
        _end += n;
        return n > 0;
    }

    private async Task<string> ReadLineAsync(CancellationToken token)
    {
        while (true)
        {
            var i = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (i >= 0)
            {
                var line = Encoding.ASCII.GetString(_buffer, _start, i - _start).TrimEnd('\r');
                _start = i + 1;
                return line;
            }
            if (!await FillAsync(token)) throw new IOException("connection closed");
        }
    }

    /// <summary>Reads a response: status, then the body piece by piece to <paramref name="onBody"/>.</summary>
    internal async Task<int> ReadResponseAsync(Action<ReadOnlySpan<byte>> onBody, Action? onHeaders, CancellationToken token)
    {
        var status = int.Parse((await ReadLineAsync(token)).AsSpan(9, 3));
        long length = -1;
        var chunked = false;
        string line;
        while ((line = await ReadLineAsync(token)).Length > 0)
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) length = long.Parse(line.AsSpan(15).Trim());
            else if (line.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase) && line.Contains("chunked", StringComparison.OrdinalIgnoreCase)) chunked = true;
        }
        onHeaders?.Invoke();
        if (chunked)
        {
            while (true)
            {
                var size = Convert.ToInt64((await ReadLineAsync(token)).Split(';')[0], 16);
                if (size == 0)
                {
                    await ReadLineAsync(token);
                    return status;
                }
                await PassAsync(size, onBody, token);
                await ReadLineAsync(token);
            }
        }
        if (length > 0) await PassAsync(length, onBody, token);
        return status;
    }

    private async Task PassAsync(long count, Action<ReadOnlySpan<byte>> onBody, CancellationToken token)
    {
        while (count > 0)
        {
            if (_start == _end && !await FillAsync(token)) throw new IOException("connection closed");
            var n = (int)Math.Min(count, _end - _start);
            onBody(_buffer.AsSpan(_start, n));
            _start += n;
            count -= n;
        }
    }

    /// <summary>A whole response body as text (small answers: negotiate, conn).</summary>
    internal async Task<(int Status, string Body)> ReadTextAsync(CancellationToken token)
    {
        var body = new MemoryStream();
        var status = await ReadResponseAsync(span => body.Write(span), null, token);
        return (status, Encoding.UTF8.GetString(body.ToArray()));
    }

    public void Dispose()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
    }
}
