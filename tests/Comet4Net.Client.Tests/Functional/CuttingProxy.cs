using System.Net;
using System.Net.Sockets;

namespace Comet4Net.Client.Tests.Functional;

/// <summary>
/// A TCP proxy on 127.0.0.1 that cuts every connection it carries (a reset, as a network fault) after a
/// random life between <see cref="MinLife"/> and <see cref="MaxLife"/>, whatever travels on it (HTTP answers,
/// streams, WebSockets, keep-alive connections), and while <see cref="Refusing"/> resets every new one at once.
/// </summary>
internal sealed class CuttingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Random _random = new(17);
    private readonly Task _accepting;
    private int _connections, _cuts, _refused;

    internal CuttingProxy(IPEndPoint target)
    {
        _target = target;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _accepting = AcceptAsync();
    }

    internal string Url { get; }

    internal TimeSpan MinLife { get; set; } = TimeSpan.FromMilliseconds(500);

    internal TimeSpan MaxLife { get; set; } = TimeSpan.FromSeconds(3);

    internal volatile bool Refusing;

    /// <summary>While true, nothing is passed on in either direction, on connections old and new (they stay open): a silent network.</summary>
    internal volatile bool Frozen;

    internal int Connections => Volatile.Read(ref _connections);

    internal int Cuts => Volatile.Read(ref _cuts);

    internal int Refused => Volatile.Read(ref _refused);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            if (Refusing)
            {
                Interlocked.Increment(ref _refused);
                Reset(client);
                continue;
            }
            Interlocked.Increment(ref _connections);
            TimeSpan life;
            lock (_random) life = MinLife + (MaxLife - MinLife) * _random.NextDouble();
            _ = CarryAsync(client, life);
        }
    }

    private async Task CarryAsync(Socket client, TimeSpan life)
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        cut.CancelAfter(life);
        try
        {
            await server.ConnectAsync(_target, cut.Token);
            var up = PumpAsync(client, server, cut.Token);
            var down = PumpAsync(server, client, cut.Token);
            _ = up.ContinueWith(_ => { }, TaskScheduler.Default);
            _ = down.ContinueWith(_ => { }, TaskScheduler.Default);
            await Task.WhenAny(up, down);
            if (cut.IsCancellationRequested) Interlocked.Increment(ref _cuts);
        }
        catch (Exception)
        {
            if (cut.IsCancellationRequested) Interlocked.Increment(ref _cuts);
        }
        finally
        {
            Reset(client);
            Reset(server);
        }
    }

    private async Task PumpAsync(Socket from, Socket to, CancellationToken cancellationToken)
    {
        var buffer = new byte[16384];
        while (true)
        {
            var n = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (n == 0) return;
            while (Frozen) await Task.Delay(50, cancellationToken);
            await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, cancellationToken);
        }
    }

    /// <summary>Closes with a reset (no FIN): what a peer sees when the network drops the connection.</summary>
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Resets every new connection for <paramref name="duration"/>.</summary>
    internal async Task RefuseAsync(TimeSpan duration, CancellationToken cancellationToken = default)
    {
        Refusing = true;
        try
        {
            await Task.Delay(duration, cancellationToken);
        }
        finally
        {
            Refusing = false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception)
        {
        }
        _stop.Dispose();
    }
}
