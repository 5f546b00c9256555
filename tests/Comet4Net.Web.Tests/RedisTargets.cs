using Comet4Net.Tests.Shared;

namespace Comet4Net.Web.Tests;

/// <summary>
/// The Redis a backplane test runs on, named in its [DataRow]: <see cref="Single"/> (one redis-server)
/// or <see cref="Cluster"/> (a Redis Cluster of three masters). Each is started once, when a test first
/// asks for it, and stopped when the test assembly ends.
/// </summary>
[TestClass]
public static class RedisTargets
{
    public const string Single = "redis";
    public const string Cluster = "cluster";

    private static readonly SemaphoreSlim Starting = new(1, 1);
    private static RedisServer? _single;
    private static RedisClusterServer? _cluster;

    /// <summary>The StackExchange.Redis configuration string of <paramref name="target"/>.</summary>
    public static async Task<string> ConfigurationAsync(string target)
    {
        await Starting.WaitAsync();
        try
        {
            return target switch
            {
                Single => (_single ??= await RedisServer.StartAsync()).Configuration,
                Cluster => (_cluster ??= await RedisClusterServer.StartAsync()).Configuration,
                _ => throw new ArgumentException($"'{target}' is not a Redis target: '{Single}' or '{Cluster}'.", nameof(target)),
            };
        }
        finally
        {
            Starting.Release();
        }
    }

    [AssemblyCleanup]
    public static async Task StopAsync()
    {
        if (_single is not null) await _single.DisposeAsync();
        if (_cluster is not null) await _cluster.DisposeAsync();
    }
}
