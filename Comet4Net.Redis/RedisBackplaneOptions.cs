namespace Comet4Net.Redis;

/// <summary>How the nodes share Redis. Bound from <c>Comet:Redis</c> (the configuration string) and <c>Comet:RedisPrefix</c>.</summary>
public sealed class RedisBackplaneOptions
{
    /// <summary>A StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c> or <c>redis1:6379,redis2:6379,password=…</c>.</summary>
    public string Configuration { get; set; } = "";

    /// <summary>The prefix of every key and channel, so that several applications can share one Redis. Default <c>comet:</c>.</summary>
    public string Prefix { get; set; } = "comet:";

    /// <summary>Most messages the shared stream keeps (approximately; Redis trims whole nodes). Default 100000, as Comet:MaxLogMessages.</summary>
    public int MaxStreamLength { get; set; } = 100000;

    /// <summary>How often a node looks at the stream when no wake-up came (pub/sub is only a hint). Default 250 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Read and write Redis on threads of the Redis client's own rather than the .NET thread pool
    /// (StackExchange.Redis's DedicatedThreads feature flag, which is process-wide: it applies to every
    /// multiplexer created after it). Default true: a broadcast wakes every waiting writer on the
    /// thread pool, and a send's number comes back from Redis behind all of them, so a burst sent
    /// from one thread went at one message per pass of the node's writers. Costs a reader and a writer
    /// thread per Redis connection. Setting it false leaves the flag as it was.
    /// </summary>
    public bool DedicatedThreads { get; set; } = true;

    /// <summary>How long a presence entry lives unless its node refreshes it: a crashed node's connections leave the counts after this. Default 15 s.</summary>
    public TimeSpan PresenceTtl { get; set; } = TimeSpan.FromSeconds(15);
}
