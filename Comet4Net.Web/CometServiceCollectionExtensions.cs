using System.Diagnostics.Metrics;
using Comet4Net;
using Comet4Net.Backplane;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Comet4Net.Web.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Comet4Net with an ASP.NET Core application.</summary>
public static class CometServiceCollectionExtensions
{
    /// <summary>
    /// Adds the <see cref="CometContext"/> singleton (and its engine and scheduler). Options bind from
    /// the <c>Comet</c> configuration section, then <paramref name="configure"/> runs. Invalid options
    /// stop the host at startup with a <see cref="CometConfigurationException"/> naming the key; left
    /// unhandled (a plain <c>app.Run()</c>), it ends the process with that one line and exit code 1.
    /// </summary>
    public static IServiceCollection AddComet(this IServiceCollection services, Action<CometOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        CometStartupFailure.Watch(); // a bad setting ends the process with one line and exit code 1, not a stack trace
        var builder = services.AddOptions<CometOptions>().BindConfiguration(CometOptions.SectionName);
        if (configure is not null) builder.Configure(configure);
        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CometOptions>, CometOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<CometOptions>>().Value;
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Comet4Net");
            return new CometContext(options, sp.GetRequiredService<TimeProvider>(), logger,
                sp.GetService<ICometBackplane>(), sp.GetService<IMeterFactory>()).MakeInstance();
        });
        services.TryAddSingleton(sp => sp.GetRequiredService<CometContext>().Engine);
        services.TryAddSingleton<CometDispatcher>();
        services.TryAddEnumerable(ServiceDescriptor.Transient<IStartupFilter, CometWebSocketsStartupFilter>());
        services.TryAddSingleton<ClientScriptMarker>();
        if (!FileLimitGate.Installed(services)) FileLimitGate.Install(services); // before the limits, which read it
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>, CometKestrelLimits>());
        services.AddHostedService<CometHostedService>();
        if (!services.Any(d => d.ServiceType == typeof(CometHealthCheck)))
        {
            services.AddSingleton<CometHealthCheck>();
            services.AddHealthChecks().AddCheck<CometHealthCheck>("comet", tags: ["comet"]);
        }
        return services;
    }

    /// <summary>
    /// Adds Comet4Net and runs <paramref name="setup"/> on the context once it is built, the place to
    /// register channels and listeners (Comet4J's ServletContextListener).
    /// </summary>
    public static IServiceCollection AddComet(this IServiceCollection services, Action<CometOptions>? configure, Action<CometContext, IServiceProvider> setup)
    {
        services.AddComet(configure);
        services.AddSingleton(new CometSetup(setup));
        return services;
    }
}

/// <summary>
/// Checks the bound options when the host starts (ValidateOnStart), so a bad setting stops it with
/// a <see cref="CometConfigurationException"/> naming the key, before anything is served.
/// </summary>
internal sealed class CometOptionsValidator : IValidateOptions<CometOptions>
{
    public ValidateOptionsResult Validate(string? name, CometOptions options)
    {
        options.Validate(); // throws, naming the key: the message a user needs, not a generic options failure
        return ValidateOptionsResult.Success;
    }
}

/// <summary>
/// Puts ASP.NET Core's WebSocket middleware in front of the app for HTTP/2 requests (a websocket over
/// extended CONNECT). HTTP/1.1 upgrades of <c>/conn</c> are answered by Comet4Net itself
/// (Internal/Transports/WebSocketAccept.cs): the middleware would leave its feature with every
/// HTTP/1.1 request, held answers included.
/// </summary>
internal sealed class CometWebSocketsStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseWhen(static http => HttpProtocol.IsHttp2(http.Request.Protocol),
            branch => branch.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) }));
        next(app);
    };
}

/// <summary>A startup action run on the context when the host starts.</summary>
internal sealed record CometSetup(Action<CometContext, IServiceProvider> Run);

/// <summary>
/// Builds the context when the host starts (so bad options fail startup), runs the setups, starts the
/// scheduler; when the host stops, drains (<see cref="DrainService"/>) before the server stops, then ends what is left.
/// </summary>
internal sealed class CometHostedService(IServiceProvider services, IHostApplicationLifetime lifetime) : IHostedLifecycleService
{
    private CometScheduler? _scheduler;
    private CancellationTokenRegistration _stopping;
    private DrainService? _drain;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var context = services.GetRequiredService<CometContext>();
        foreach (var setup in services.GetServices<CometSetup>()) setup.Run(context, services);
        await ChannelPolicyAuthorizer.StartAsync(context, services); // channels guarded by policies: checked before anything is served
        _scheduler = new CometScheduler(context.Engine);
        _scheduler.Start();
        _drain = new DrainService(context, services.GetRequiredService<IOptions<HostOptions>>().Value,
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Comet4Net"));
        // SIGTERM: from this moment no new connections (503 draining); the drain runs in StoppingAsync,
        // before the server stops, so that it can still answer and tell its clients to move.
        _stopping = lifetime.ApplicationStopping.Register(_drain.Begin);
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => _drain?.DrainAsync(cancellationToken) ?? Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Dispose();
        if (_drain is not null) await _drain.DrainAsync(cancellationToken); // done already (StoppingAsync); ends every held request if it was not
        if (Interlocked.Exchange(ref _scheduler, null) is { } scheduler) await scheduler.DisposeAsync(); // once, if the host is stopped twice
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
