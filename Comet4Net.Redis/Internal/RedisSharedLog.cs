using System.Globalization;
using Comet4Net.Backplane;
using Comet4Net.Delivery;
using StackExchange.Redis;

namespace Comet4Net.Redis.Internal;

/// <summary>
/// The shared log on Redis: a stream whose ids are the sequence numbers, numbered and appended by
/// one script (<see cref="RedisScripts.Append"/>), tailed by every node into its own log.
/// </summary>
internal sealed class RedisSharedLog : ISharedLog, IDisposable
{
    private readonly ConnectionMultiplexer _redis;
    private readonly TimeProvider _time;
    private readonly RedisKeys _keys;
    private readonly StreamTail _tail;
    private readonly GroupCommit _commit;
    private long _trimmedBelow;

    /// <summary>Reads (or starts) the shared log. Throws if Redis does not answer.</summary>
    internal RedisSharedLog(ConnectionMultiplexer redis, RedisBackplaneOptions options, RedisKeys keys, RedisCalls calls, TimeProvider time, string nodeName)
    {
        _redis = redis;
        _time = time;
        Database = redis.GetDatabase();
        Options = options;
        Calls = calls;
        NodeName = nodeName;
        _keys = keys;
        LogKey = keys.Stream;
        var init = (RedisResult[])Database.ScriptEvaluate(RedisScripts.Init, [keys.Seq, keys.Epoch], [NewEpoch(), NewBase()])!;
        Epoch = (string)init[1]!;
        var last = long.Parse((string)init[0]!, CultureInfo.InvariantCulture);
        _tail = new StreamTail(this, BacklogStart(last), Epoch) { Backlog = last };
        _commit = new GroupCommit(this, _tail);
        _tail.Commit = _commit;
    }

    /// <summary>
    /// Where this node's log begins: before the oldest entry the stream still holds (of this epoch),
    /// so that a node that starts (a restart in a rolling deploy) serves a client whose position is
    /// older than its start what the stream holds after it, instead of a gap notice for numbers that
    /// are not lost. The stream is trimmed by age and count as the nodes' logs are, which bounds it.
    /// </summary>
    private long BacklogStart(long last)
    {
        var oldest = Database.StreamRange(LogKey, "-", "+", 1);
        if (oldest.Length == 0 || (string?)oldest[0]["e"] != Epoch) return last;
        var seq = long.Parse(((string)oldest[0].Id!).Split('-')[0], CultureInfo.InvariantCulture);
        return seq > last ? last : seq - 1;
    }

    internal IDatabase Database { get; }
    internal RedisKey LogKey { get; }
    internal RedisBackplaneOptions Options { get; }
    internal RedisCalls Calls { get; }

    /// <summary>This node's name in send ids and wake-ups.</summary>
    internal string NodeName { get; }

    /// <inheritdoc />
    public string Epoch { get; internal set; }

    /// <inheritdoc />
    public long LastSequence => _tail.LastSeq;

    /// <inheritdoc />
    public long HeadSequence => _tail.HeadSeq;

    /// <summary>True while the Redis server that holds the log (its slot, on a cluster) is connected.</summary>
    internal bool IsConnected => Database.IsConnected(_keys.Stream);

    /// <summary>Sends waiting for Redis to come back.</summary>
    internal int Waiting => _commit.Waiting;

    /// <summary>Script calls this node made to append, and the sends they carried (more sends than calls: group commit).</summary>
    internal (long Calls, long Sends) AppendCalls => (Interlocked.Read(ref _commit.Batches), Interlocked.Read(ref _commit.Batched));

    /// <inheritdoc />
    public void Start(IBackplaneReceiver receiver)
    {
        _tail.Start(receiver);
        _redis.GetSubscriber().Subscribe(_keys.Wake, (_, wake) =>
        {
            _tail.Saw(WakeSeq(wake));
            _tail.Poke(IsFromThisNode(wake));
        });
    }

    /// <inheritdoc />
    /// <remarks>
    /// Never waits for Redis: the send is queued behind this node's earlier sends and the task completes
    /// when Redis numbered it. Sends made meanwhile go out together in one script call (group commit).
    /// While Redis is unreachable they wait on this node, in order (at most MaxStreamLength; past it the
    /// oldest complete with number 0 and every client is told of a gap).
    /// </remarks>
    public ValueTask<CometMessage> AppendAsync(OutgoingMessage message) => _commit.AppendAsync(message);

    /// <summary>A wake-up ("id node", see <see cref="RedisScripts.Append"/>) that this node published: its leader files those itself.</summary>
    private bool IsFromThisNode(RedisValue wake)
    {
        var text = (string?)wake;
        var space = text?.IndexOf(' ') ?? -1;
        return space > 0 && text.AsSpan(space + 1).SequenceEqual(NodeName);
    }

    /// <summary>The number a wake-up ("seq-0 node") says the stream reached; 0 if it says none.</summary>
    private static long WakeSeq(RedisValue wake)
    {
        var text = ((string?)wake).AsSpan();
        var dash = text.IndexOf('-');
        return dash > 0 && long.TryParse(text[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq : 0;
    }

    /// <summary>
    /// Appends sends in one script call (group commit). Returns the log's epoch and each send's number, in
    /// order, and whether it was a repeat of an idempotency key (not appended; the number is the first one's).
    /// </summary>
    internal async Task<(string Epoch, long[] Seqs, bool[] Repeats)> AppendScriptAsync(IReadOnlyList<(OutgoingMessage Message, string SendId)> sends)
    {
        var keys = new RedisKey[3 + 2 * sends.Count];
        var args = new RedisValue[5 + 2 * sends.Count];
        keys[0] = _keys.Seq;
        keys[1] = _keys.Epoch;
        keys[2] = _keys.Stream;
        args[0] = NewEpoch();
        args[1] = NewBase();
        args[2] = Options.MaxStreamLength;
        args[3] = _keys.Wake.ToString();
        args[4] = NodeName;
        for (var i = 0; i < sends.Count; i++)
        {
            var (message, sendId) = sends[i];
            keys[3 + 2 * i] = _keys.Sent(sendId);
            keys[4 + 2 * i] = message.IdempotencyKey is { } once ? _keys.Once(once) : keys[3 + 2 * i];
            args[5 + 2 * i] = MessageCodec.Encode(message);
            args[6 + 2 * i] = Math.Max(1, message.IdempotencyWindow);
        }
        var result = (RedisResult[])(await Database.ScriptEvaluateAsync(RedisScripts.Append, keys, args).ConfigureAwait(false))!;
        var seqs = new long[sends.Count];
        var repeats = new bool[sends.Count];
        for (var i = 0; i < seqs.Length; i++)
        {
            var text = (string)result[1 + i]!;
            repeats[i] = text.StartsWith('d');
            seqs[i] = long.Parse(repeats[i] ? text.AsSpan(1) : text, CultureInfo.InvariantCulture);
        }
        return ((string)result[0]!, seqs, repeats);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The stream is trimmed by age (CacheExpires, like the nodes' logs) as well as by count
    /// (MaxStreamLength): entries below <paramref name="seq"/> go (XTRIM MINID, fire and forget, once per trim tick).
    /// </remarks>
    public void TrimBefore(long seq)
    {
        if (seq <= 0 || seq == long.MaxValue || seq <= Interlocked.Read(ref _trimmedBelow)) return;
        Calls.Try(LogKey, () =>
        {
            Database.Execute("XTRIM", [LogKey, "MINID", seq.ToString(CultureInfo.InvariantCulture)], CommandFlags.FireAndForget);
            Interlocked.Exchange(ref _trimmedBelow, seq);
        }, "trim the stream");
    }

    private static string NewEpoch() => Guid.NewGuid().ToString("N")[..8];

    private long NewBase() => _time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;

    public void Dispose()
    {
        _commit.Stop();
        _tail.Dispose();
    }
}
