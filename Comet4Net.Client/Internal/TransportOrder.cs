namespace Comet4Net.Client.Internal;

/// <summary>
/// The ordered list of transports a connection may use and where the connector is in it. A transport the
/// path does not carry hands over to the next; one that worked is tried again first after a network
/// failure, rather than given up for the client's life.
/// </summary>
internal sealed class TransportOrder
{
    /// <summary>The order <c>auto</c> walks.</summary>
    internal static readonly CometTransport[] All = [CometTransport.WebSocket, CometTransport.Stream, CometTransport.Sse, CometTransport.LongPolling];

    /// <summary>Opens that fail on the network before a transport ever worked, before the connector moves on.</summary>
    internal const int OpenFailuresBeforeMoving = 2;

    private readonly CometTransport[] _list;
    private readonly HashSet<CometTransport> _worked = [];
    private int _index;
    private int _openFailures;

    private TransportOrder(CometTransport[] list) => _list = list;

    /// <summary>Forced: that transport only. Otherwise the server's choice and every later one in <see cref="All"/>.</summary>
    internal static TransportOrder For(CometTransport? forced, CometTransport serverChoice)
    {
        if (forced is { } only) return new([only]);
        var start = Array.IndexOf(All, serverChoice);
        return new(All[Math.Max(0, start)..]);
    }

    internal IReadOnlyList<CometTransport> List => _list;

    internal CometTransport Current => _list[_index];

    internal bool HasWorked(CometTransport transport) => _worked.Contains(transport);

    /// <summary>The current transport opened.</summary>
    internal void Opened()
    {
        _worked.Add(Current);
        _openFailures = 0;
    }

    /// <summary>The path does not carry the current transport: the next one, if there is one. Returns whether it moved.</summary>
    internal bool NotCarried()
    {
        _openFailures = 0;
        if (_index + 1 >= _list.Length) return false;
        _index++;
        return true;
    }

    /// <summary>
    /// The current transport failed on the network. One that worked, or one that opened this time, stays
    /// (the network failed, not the transport). One that never opened: another that worked is tried first,
    /// else the next after <see cref="OpenFailuresBeforeMoving"/> failed opens. Returns whether it moved.
    /// </summary>
    internal bool NetworkFailure(bool opened)
    {
        if (opened || HasWorked(Current))
        {
            _openFailures = 0;
            return false;
        }
        for (var i = 0; i < _list.Length; i++)
        {
            if (i != _index && _worked.Contains(_list[i]))
            {
                _index = i;
                _openFailures = 0;
                return true;
            }
        }
        if (++_openFailures < OpenFailuresBeforeMoving) return false;
        return NotCarried();
    }
}
