using Comet4Net;
using Comet4Net.Web.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the Comet4Net endpoint and the client script.</summary>
public static class CometEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the <c>/conn</c> endpoint (connect, revival, drop) at <paramref name="pattern"/>, and the
    /// browser client at <c>/comet4j.js</c> and <c>/comet4j.min.js</c> unless
    /// <paramref name="mapClientScript"/> is false. The result takes conventions such as
    /// <c>RequireAuthorization()</c> and <c>RequireCors(…)</c>.
    /// </summary>
    public static IEndpointConventionBuilder MapComet(this IEndpointRouteBuilder endpoints, string pattern = "/conn", bool mapClientScript = true)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var handler = endpoints.ServiceProvider.GetRequiredService<CometDispatcher>();
        var builder = endpoints.Map(pattern, handler.HandleAsync)
            .WithDisplayName("Comet4Net " + pattern)
            .WithMetadata(new DisableRequestTimeoutAttribute());
        if (mapClientScript) endpoints.MapCometClientScript();
        return builder;
    }

    /// <summary>Maps the browser client at <paramref name="path"/> (default <c>/comet4j.js</c>) and its minified copy beside it (<c>.min.js</c>).</summary>
    public static IEndpointConventionBuilder MapCometClientScript(this IEndpointRouteBuilder endpoints, string path = "/comet4j.js")
    {
        var marker = endpoints.ServiceProvider.GetService<ClientScriptMarker>();
        if (marker is null || !marker.TryClaim(path)) return new NoConventions();
        var minPath = path.EndsWith(".js", StringComparison.Ordinal) ? path[..^3] + ".min.js" : path + ".min";
        var full = endpoints.MapMethods(path, ["GET", "HEAD"], context => ClientScript.Full.Value.ServeAsync(context));
        var min = endpoints.MapMethods(minPath, ["GET", "HEAD"], context => ClientScript.Minified.Value.ServeAsync(context));
        return new CompositeConventions([full, min]);
    }

    /// <summary>The live <c>HttpContext</c> of the request attached to the connection now, or null while it is dying.</summary>
    public static HttpContext? GetHttpContext(this CometConnection connection) => connection.CurrentRequest as HttpContext;

    private sealed class NoConventions : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention) { }
    }

    private sealed class CompositeConventions(IEndpointConventionBuilder[] builders) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var b in builders) b.Add(convention);
        }
    }
}

