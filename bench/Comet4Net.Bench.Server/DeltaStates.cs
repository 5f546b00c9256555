using Comet4Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

/// <summary>
/// The delta scenario's stream (bench/run.sh --delta): a dashboard's 2 KB JSON state on the channel
/// "d" (registered with ChannelOptions.Delta), one field changing per message.
/// </summary>
internal static class DeltaStates
{
    /// <summary>The channel, registered with deltas.</summary>
    internal static void Register(CometContext context) => context.RegisterChannel("d", new ChannelOptions { Delta = true });

    /// <summary>The state after <paramref name="i"/> changes: 32 sensors, and sensor i % 32's value and the tick changed.</summary>
    internal static object State(long i) => new
    {
        tick = i,
        sensors = Enumerable.Range(0, 32).Select(k => new
        {
            id = "sensor-" + k,
            name = "Boiler room sensor " + k,
            unit = "°C",
            value = 20 + k * 0.5 + (k == (int)(i % 32) ? i % 7 : 0),
            ok = true,
        }).ToArray(),
    };

    /// <summary>POST /bench/states?count=N&amp;rate=R: N states on "d", R a second (0: as fast as it goes), answered when all are sent.</summary>
    internal static void Map(WebApplication app) => app.MapPost("/bench/states", async (int count, int rate) =>
    {
        var engine = app.Services.GetRequiredService<CometEngine>();
        var start = DateTime.UtcNow;
        for (long i = 0; i < count; i++)
        {
            if (rate > 0 && start.AddSeconds(i / (double)rate) - DateTime.UtcNow is { } wait && wait > TimeSpan.Zero) await Task.Delay(wait);
            engine.SendToAll("d", State(i));
        }
        return Results.Ok();
    });
}
