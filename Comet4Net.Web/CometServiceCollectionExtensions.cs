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
    /// stop the host at startup with a message naming the key.
    /// </summary>
    public static IServiceCollection AddComet(this IServiceCollection services, Action<CometOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
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
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>, CometKestrelLimits>());
        services.AddHostedService<CometHostedService>();
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

/// <summary>Builds the context when the host starts (so bad options fail startup), runs the setups, starts the scheduler, ends connections on stop.</summary>
internal sealed class CometHostedService(IServiceProvider services, IHostApplicationLifetime lifetime) : IHostedService
{
    private CometScheduler? _scheduler;
    private CancellationTokenRegistration _stopping;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var context = services.GetRequiredService<CometContext>();
        foreach (var setup in services.GetServices<CometSetup>()) setup.Run(context, services);
        _scheduler = new CometScheduler(context.Engine);
        _scheduler.Start();
        // Held requests end at once when the host stops, so shutdown does not wait for their timeout.
        _stopping = lifetime.ApplicationStopping.Register(() => context.Engine.Host.Shutdown());
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Dispose();
        if (_scheduler is not null) await _scheduler.DisposeAsync();
    }
}
