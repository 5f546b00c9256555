using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Comet4Net.Web.Internal;

/// <summary>
/// Keeps the server within the process's open-file limit at the transport: each accepted connection
/// is counted, one past the limit is closed at once (everyone else is served), and the count drops
/// when Kestrel closes a connection. It replaces Kestrel's <c>Limits.MaxConcurrentConnections</c>,
/// which would do the same through a connection middleware costing ~400 bytes per held connection
/// (a state machine, a releaser and a feature list); this costs one registration on the
/// connection's closed token. See <see cref="CometKestrelLimits"/> for why the limit exists.
/// </summary>
internal sealed partial class FileLimitGate(ILogger<FileLimitGate> logger)
{
    private long _open;
    private long _refused;

    /// <summary>Connections past this are closed at accept; long.MaxValue: no limit known.</summary>
    internal long Limit { get; set; } = long.MaxValue;

    /// <summary>Connections open now (accepted and not yet closed).</summary>
    internal long Open => Interlocked.Read(ref _open);

    /// <summary>Wraps every transport Kestrel binds with (sockets, named pipes...) in the gate.</summary>
    internal static void Install(IServiceCollection services)
    {
        services.AddSingleton<FileLimitGate>();
        for (var i = 0; i < services.Count; i++)
        {
            var d = services[i];
            if (d.ServiceType != typeof(IConnectionListenerFactory) || d.IsKeyedService) continue;
            services[i] = ServiceDescriptor.Singleton<IConnectionListenerFactory>(sp =>
                new GatedFactory(Create(sp, d), sp.GetRequiredService<FileLimitGate>()));
        }
    }

    /// <summary>True if a transport of <paramref name="services"/> goes through the gate.</summary>
    internal static bool Installed(IServiceCollection services) => services.Any(d => d.ServiceType == typeof(FileLimitGate));

    private static IConnectionListenerFactory Create(IServiceProvider sp, ServiceDescriptor d) =>
        (IConnectionListenerFactory)(d.ImplementationInstance
            ?? d.ImplementationFactory?.Invoke(sp)
            ?? ActivatorUtilities.CreateInstance(sp, d.ImplementationType!));

    /// <summary>Counts <paramref name="connection"/> in; false (and not counted) if the process is at its limit.</summary>
    private bool Admit(ConnectionContext connection)
    {
        if (Interlocked.Increment(ref _open) > Limit)
        {
            Interlocked.Decrement(ref _open);
            if (Interlocked.Increment(ref _refused) % 1000 == 1) LogRefused(logger, Limit, Interlocked.Read(ref _refused));
            return false;
        }
        connection.ConnectionClosed.UnsafeRegister(static s => Interlocked.Decrement(ref ((FileLimitGate)s!)._open), this);
        return true;
    }

    [LoggerMessage(EventId = 913, Level = LogLevel.Warning,
        Message = "Comet4Net: {Limit} connections are open, the most the open-file limit allows; new connections are closed at once ({Refused} so far)")]
    private static partial void LogRefused(ILogger logger, long limit, long refused);

    private sealed class GatedFactory(IConnectionListenerFactory inner, FileLimitGate gate) : IConnectionListenerFactory, IConnectionListenerFactorySelector
    {
        public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
            new GatedListener(await inner.BindAsync(endpoint, cancellationToken), gate);

        public bool CanBind(EndPoint endpoint) => inner is not IConnectionListenerFactorySelector selector || selector.CanBind(endpoint);
    }

    private sealed class GatedListener(IConnectionListener inner, FileLimitGate gate) : IConnectionListener
    {
        public EndPoint EndPoint => inner.EndPoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            while (true)
            {
                var connection = await inner.AcceptAsync(cancellationToken);
                if (connection is null || gate.Admit(connection)) return connection;
                await connection.DisposeAsync();
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => inner.UnbindAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
