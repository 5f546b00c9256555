using System.Collections.Concurrent;

namespace Comet4Net.Connections;

/// <summary>
/// Who may open a connection: the node's and each client address's connection limits, and the
/// signed token that names the user. A slot taken by <c>Admit</c> is given back with <see cref="Release"/>.
/// </summary>
internal sealed class Admission(CometOptions options, CometTokens? tokens, Diagnostics.EngineCounters counters)
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, int> _perClient = new(StringComparer.Ordinal);
    private int _held;

    /// <summary>Slots held: the node's connections, plus any being admitted now.</summary>
    internal int Held => Volatile.Read(ref _held);

    /// <summary>
    /// Takes a slot for <paramref name="request"/>'s client and (unless <paramref name="checkToken"/>
    /// is false: a resumed session proved who it is with its secret) reads its token. On anything but Ok no slot is held.
    /// <paramref name="tokenExpires"/>: when the token read expires (unix milliseconds); 0 without one.
    /// </summary>
    internal ConnectResult Admit(ICometRequest request, out string? userId, out long tokenExpires, bool checkToken = true)
    {
        userId = null;
        tokenExpires = 0;
        if (Interlocked.Increment(ref _held) > options.MaxConnections)
        {
            Interlocked.Decrement(ref _held);
            counters.AddLimitHit();
            return new ConnectResult(null, CometOutcome.TooManyConnections, options.Text(
                $"The server holds its maximum of {options.MaxConnections} connections.", $"服务器连接数已达上限（{options.MaxConnections}）。"), 0, RetryAfter);
        }
        var ip = request.ClientIp;
        var limit = options.MaxConnectionsPerClient;
        if (_perClient.AddOrUpdate(ip, 1, static (_, n) => n + 1) > limit && limit > 0)
        {
            Release(ip);
            counters.AddLimitHit();
            return new ConnectResult(null, CometOutcome.TooManyFromClient, options.Text(
                $"This client already has {limit} connections, the most allowed (Comet:MaxConnectionsPerClient).", $"该客户端连接数已达上限（{limit}）。"), 0, RetryAfter);
        }
        if (tokens is null || !checkToken) return new ConnectResult(null, CometOutcome.Ok, null);
        var token = request.Query("token");
        if (token is not null)
        {
            if (tokens.TryValidate(token, out var user, out tokenExpires, out var why))
            {
                userId = user;
                return new ConnectResult(null, CometOutcome.Ok, null);
            }
            Release(ip);
            return new ConnectResult(null, CometOutcome.InvalidToken, why);
        }
        if (!options.RequireToken) return new ConnectResult(null, CometOutcome.Ok, null);
        Release(ip);
        return new ConnectResult(null, CometOutcome.InvalidToken, options.Text(
            "A token is required: pass token=… (issued by the application) to JS.Engine.start.", "需要令牌（token）。"));
    }

    /// <summary>Admits as the overload above, without the token's expiry.</summary>
    internal ConnectResult Admit(ICometRequest request, out string? userId, bool checkToken = true) => Admit(request, out userId, out _, checkToken);

    /// <summary>Gives back the slot of a connection from <paramref name="ip"/>.</summary>
    internal void Release(string ip)
    {
        Interlocked.Decrement(ref _held);
        while (_perClient.TryGetValue(ip, out var n))
        {
            if (n <= 1 ? _perClient.TryRemove(new KeyValuePair<string, int>(ip, n)) : _perClient.TryUpdate(ip, n - 1, n)) break;
        }
    }
}
