using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Comet4Net.Web.Internal;

/// <summary>
/// Keeps Kestrel within the process's open-file limit. A server that accepts connections until the
/// operating system refuses it files fails in places that were never meant to fail (the .NET runtime
/// itself then aborts the process with "Out of memory", dropping every client). So when the application
/// left Kestrel's connection limits unset (unlimited), they are set to what the file limit allows:
/// past it a new connection is accepted and closed at once, and everyone else is served.
/// </summary>
/// <remarks>
/// Where Comet4Net could wrap Kestrel's transport (<see cref="FileLimitGate"/>, the usual case), the gate
/// counts connections at accept and Kestrel's own limit stays as the application set it; otherwise
/// Kestrel's <c>MaxConcurrentConnections</c> is set.
/// </remarks>
internal sealed partial class CometKestrelLimits(ILogger<CometKestrelLimits> logger, IOptionsMonitor<CometOptions> comet, FileLimitGate? gate = null)
    : IPostConfigureOptions<KestrelServerOptions>
{
    public void PostConfigure(string? name, KestrelServerOptions options)
    {
        if (FileLimit.Read() is not { } files) return;
        var within = FileLimit.ConnectionsWithin(files);
        var limits = options.Limits;
        if (gate is not null)
        {
            if (gate.Limit != within) LogLimited(logger, files, within);
            gate.Limit = within;
        }
        else if (limits.MaxConcurrentConnections is null)
        {
            limits.MaxConcurrentConnections = within;
            LogLimited(logger, files, within);
        }
        limits.MaxConcurrentUpgradedConnections ??= within; // WebSockets leave the first count when they upgrade
        var cap = Math.Min(limits.MaxConcurrentConnections ?? long.MaxValue, within);
        if (comet.CurrentValue.MaxConnections > cap) LogAboveLimit(logger, comet.CurrentValue.MaxConnections, cap, files);
    }

    [LoggerMessage(EventId = 911, Level = LogLevel.Information,
        Message = "Comet4Net: the open-file limit is {Files}, so the server takes at most {Connections} connections at a time (raise ulimit -n to hold more)")]
    private static partial void LogLimited(ILogger logger, long files, long connections);

    [LoggerMessage(EventId = 912, Level = LogLevel.Warning,
        Message = "Comet4Net: Comet:MaxConnections is {MaxConnections}, but this process can hold about {Connections} (open-file limit {Files}); clients past that are refused by Kestrel, not told to retry")]
    private static partial void LogAboveLimit(ILogger logger, int maxConnections, long connections, long files);
}
