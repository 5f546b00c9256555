using Comet4Net.Backplane;
using Comet4Net.Redis.Internal;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Comet4Net.Redis;

/// <summary>
/// The backplane of several nodes sharing one Redis (or one Redis Cluster), one part per job: the
/// shared log is a Redis stream whose ids are the sequence numbers (numbered and appended by one
/// script), every node tails it into its own log; sessions are keys that expire with the resume
/// window; presence is a sorted set per channel whose entries expire unless the node holding the
/// connection refreshes them; the control bus is a pub/sub channel. Every script touches keys of one
/// hash slot only, so it runs on a Redis Cluster as on one Redis.
/// </summary>
public sealed partial class RedisBackplane : ICometBackplane, IDisposable
{
    private readonly ConnectionMultiplexer _redis;
    private readonly RedisSharedLog _log;
    private readonly RedisCalls _calls;
    private CancellationTokenRegistration _stopping;

    /// <summary>Connects to Redis and reads (or starts) the shared log. Throws if Redis cannot be reached now.</summary>
    public RedisBackplane(RedisBackplaneOptions options, ILogger<RedisBackplane>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Configuration))
            throw new CometConfigurationException("Redis", "Comet:Redis is empty: set it to a StackExchange.Redis configuration string such as 127.0.0.1:6379.");
        var keys = Keys = new RedisKeys(options.Prefix);
        var log = (ILogger?)logger ?? NullLogger.Instance;
        time ??= TimeProvider.System;
        ConfigurationOptions config;
        try
        {
            config = ConfigurationOptions.Parse(options.Configuration);
        }
        catch (ArgumentException e)
        {
            throw new CometConfigurationException("Redis", $"Comet:Redis is not a StackExchange.Redis configuration string ({e.Message}).");
        }
        config.AbortOnConnectFail = false;
        if (options.DedicatedThreads) ConnectionMultiplexer.SetFeatureFlag("DedicatedThreads", true);
        Options = options;
        _redis = ConnectionMultiplexer.Connect(config);
        if (!_redis.IsConnected)
        {
            _redis.Dispose();
            throw new CometConfigurationException("Redis", $"Comet:Redis names {Endpoints(config)}, but Redis does not answer there.");
        }
        var node = Guid.NewGuid().ToString("N")[..12];
        var db = _redis.GetDatabase();
        _calls = new RedisCalls(_redis, log, time);
        try
        {
            _log = new RedisSharedLog(_redis, options, keys, _calls, time, node);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _redis.Dispose();
            throw new CometConfigurationException("Redis", $"Comet:Redis names {Endpoints(config)}, but Redis did not let this node read the shared log ({RedisCalls.Reason(e)}).");
        }
        Sessions = new RedisSessionStore(db, keys, _calls);
        Presence = new RedisPresence(db, options, keys, _calls, time, node);
        Control = new RedisControlBus(_redis, keys, _calls, node);
        var servers = _redis.GetServers();
        var cluster = servers.Any(s => s.ServerType == ServerType.Cluster)
            ? $"a Redis Cluster of {servers.Count(s => !s.IsReplica)} masters"
            : "one Redis";
        LogActive(log, Endpoints(config), cluster, keys.Prefix, node);
    }

    /// <summary>The endpoints of a configuration, as host:port (never its password or other options).</summary>
    private static string Endpoints(ConfigurationOptions config) => string.Join(", ", config.EndPoints.Select(e => e.ToString()));

    /// <inheritdoc />
    public ISharedLog Log => _log;

    /// <summary>The backplane's key names (hash-tagged for a Redis Cluster).</summary>
    internal RedisKeys Keys { get; }

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

    /// <summary>
    /// Stops with the host: once <paramref name="stopping"/> is cancelled (the host began to stop), a
    /// Redis call whose server is not connected is not made, and the first one that fails ends the
    /// others, so that the engine ends its connections at once with Redis down.
    /// </summary>
    /// <remarks>
    /// Calls already waiting for a Redis that is not connected at all (StackExchange.Redis keeps them
    /// up to its timeout, 5 s by default) are abandoned when the stop begins: nothing could answer them.
    /// </remarks>
    public void StopWith(CancellationToken stopping)
    {
        _calls.StopToken = stopping;
        _stopping = stopping.Register(static s =>
        {
            var redis = (ConnectionMultiplexer)s!;
            if (!redis.IsConnected) redis.Close(allowCommandsToComplete: false);
        }, _redis);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _calls.BeginStop();
        _stopping.Dispose();
        _log.Dispose();
        if (!_redis.IsConnected) _redis.Close(allowCommandsToComplete: false); // nothing could answer what waits
        _redis.Dispose(); // otherwise lets what this node sent last (fire and forget: presence leaving) go out
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Comet4Net's Redis backplane is active: {Endpoints} ({Kind}), key prefix '{Prefix}', node {Node}")]
    private static partial void LogActive(ILogger logger, string endpoints, string kind, string prefix, string node);
}
