using StackExchange.Redis;

namespace Comet4Net.Redis.Internal;

/// <summary>
/// Every key and channel name the backplane uses, made from the prefix, so that each script and
/// multi-key command touches keys of one hash slot and works on a Redis Cluster.
/// </summary>
/// <remarks>
/// <para>
/// Keys that a script touches together share a hash tag (the part of a name between the first
/// <c>{</c> and the next <c>}</c>, which alone decides its slot): the log's counter, epoch, stream and
/// send ids (<c>{comet:log}:…</c>: numbering and appending are one step), and the online users with
/// each user's connections (<c>{comet:users}:…</c>: coming online or going offline is decided in one
/// step). Keys touched alone have no tag, so they spread over the cluster's slots: a session per
/// connection, a presence set per channel.
/// </para>
/// <para>Pub/sub channel names are not keys: classic pub/sub reaches every node of a cluster.</para>
/// </remarks>
internal sealed class RedisKeys
{
    internal RedisKeys(string prefix)
    {
        Prefix = Check(prefix);
        var log = "{" + prefix + "log}:";
        Seq = log + "seq";
        Epoch = log + "epoch";
        Stream = log + "stream";
        SentPrefix = log + "sent:";
        OncePrefix = log + "once:";
        UserPrefix = "{" + prefix + "users}:user:";
        Users = "{" + prefix + "users}:online";
        Wake = RedisChannel.Literal(prefix + "wake");
        Control = RedisChannel.Literal(prefix + "control");
    }

    internal string Prefix { get; }

    /// <summary>The cluster's one sequence counter.</summary>
    internal RedisKey Seq { get; }

    /// <summary>The identity of the log (new when Redis lost it).</summary>
    internal RedisKey Epoch { get; }

    /// <summary>The shared stream of messages, whose ids are their numbers.</summary>
    internal RedisKey Stream { get; }

    /// <summary>The start of a send id's key (its number, kept a minute, so a retried append is appended once).</summary>
    internal string SentPrefix { get; }

    /// <summary>The users online in the cluster (user → latest expiry of their connections).</summary>
    internal RedisKey Users { get; }

    /// <summary>The start of a user's connections key (connection → expiry); in the users' slot.</summary>
    internal string UserPrefix { get; }

    internal RedisChannel Wake { get; }

    internal RedisChannel Control { get; }

    internal RedisKey Sent(string sendId) => SentPrefix + sendId;

    /// <summary>The start of an idempotency key's key (the first publish's number, kept for the window); in the log's slot, checked in the append script.</summary>
    internal string OncePrefix { get; }

    internal RedisKey Once(string scopedKey) => OncePrefix + scopedKey;

    internal RedisKey User(string userId) => UserPrefix + userId;

    internal RedisKey Session(string connectionId) => Prefix + "session:" + connectionId;

    internal RedisKey Channel(string channel) => Prefix + "channel:" + channel;

    /// <summary>
    /// A prefix is needed (it names the hash tags) and must not hold braces (they would move keys
    /// between slots and break the scripts on a Redis Cluster).
    /// </summary>
    internal static string Check(string? prefix)
    {
        if (string.IsNullOrEmpty(prefix))
            throw new CometConfigurationException("RedisPrefix", "Comet:RedisPrefix is empty: set it to a short name such as 'comet:' (it starts every key and names the keys' hash slots).");
        if (prefix.IndexOfAny(['{', '}']) >= 0)
            throw new CometConfigurationException("RedisPrefix", $"Comet:RedisPrefix is '{prefix}', but it must not contain '{{' or '}}': Comet4Net puts its own hash tags around it so that the keys its scripts touch together share one slot of a Redis Cluster.");
        if (prefix.Length > 100)
            throw new CometConfigurationException("RedisPrefix", $"Comet:RedisPrefix is {prefix.Length} characters long; at most 100.");
        return prefix;
    }
}
