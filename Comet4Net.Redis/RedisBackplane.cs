using Comet4Net.Backplane;
using Comet4Net.Redis.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Comet4Net.Redis;

/// <summary>
/// The backplane of several nodes sharing one Redis, one part per job: the shared log is a Redis
/// stream whose ids are the sequence numbers (numbered and appended by one script), every node tails
/// it into its own log; sessions are keys that expire with the resume window; presence is a sorted
/// set per channel whose entries expire unless the node holding the connection refreshes them; the
/// control bus is a pub/sub channel.
/// </summary>
public sealed class RedisBackplane : ICometBackplane, IDisposable
{
    private readonly ConnectionMultiplexer _redis;
    private readonly RedisSharedLog _log;

    /// <summary>Connects to Redis and reads (or starts) the shared log. Throws if Redis cannot be reached now.</summary>
    public RedisBackplane(RedisBackplaneOptions options, ILogger<RedisBackplane>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Configuration))
            throw new CometConfigurationException("Redis", "Comet:Redis is empty: set it to a StackExchange.Redis configuration string such as 127.0.0.1:6379.");
        var log = (ILogger?)logger ?? NullLogger.Instance;
        time ??= TimeProvider.System;
        var config = ConfigurationOptions.Parse(options.Configuration);
        config.AbortOnConnectFail = false;
        if (options.DedicatedThreads) ConnectionMultiplexer.SetFeatureFlag("DedicatedThreads", true);
        Options = options;
        _redis = ConnectionMultiplexer.Connect(config);
        if (!_redis.IsConnected)
        {
            _redis.Dispose();
            throw new CometConfigurationException("Redis", $"Comet:Redis is '{options.Configuration}', but Redis does not answer there.");
        }
        var node = Guid.NewGuid().ToString("N")[..12];
        var db = _redis.GetDatabase();
        _log = new RedisSharedLog(_redis, options, log, time, node);
        Sessions = new RedisSessionStore(db, options, log);
        Presence = new RedisPresence(db, options, log, time, node);
        Control = new RedisControlBus(_redis, options, log, node);
    }

    /// <inheritdoc />
    public ISharedLog Log => _log;

    /// <inheritdoc />
    public ISessionStore Sessions { get; }

    /// <inheritdoc />
    public IPresenceStore Presence { get; }

    /// <inheritdoc />
    public IControlBus Control { get; }

    /// <summary>True while Redis answers.</summary>
    public bool IsConnected => _redis.IsConnected;

    /// <summary>Messages sent on this node while Redis was unreachable, waiting to go out in order.</summary>
    public int WaitingMessages => _log.Waiting;

    /// <summary>The Redis connection, for this project's own calls (health check, node directory).</summary>
    internal ConnectionMultiplexer Multiplexer => _redis;

    /// <summary>The options the backplane was made with.</summary>
    internal RedisBackplaneOptions Options { get; }

    /// <summary>Script calls this node made to append, and the sends they carried (more sends than calls: group commit).</summary>
    internal (long Calls, long Sends) AppendCalls => _log.AppendCalls;

    /// <inheritdoc />
    public void Dispose()
    {
        _log.Dispose();
        _redis.Dispose();
    }
}
