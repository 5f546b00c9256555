using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Comet4Net.Web.Tests;

[TestClass]
public sealed class StartupTests
{
    private static WebApplication Build(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddComet();
        var app = builder.Build();
        app.MapComet("/conn");
        return app;
    }

    /// <summary>Building (MapComet resolves the context) or starting: either way the app never serves.</summary>
    private static async Task BuildAndStartAsync(Dictionary<string, string?> settings)
    {
        await using var app = Build(settings);
        await app.StartAsync();
        await app.StopAsync();
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    [DataRow("Comet:WorkStyle", "poll", "allowed is one of auto, stream, lpool, sse")]
    [DataRow("Comet:ConnExpires", "0", "greater than 0")]
    [DataRow("Comet:Language", "fr", "zh or en")]
    public async Task A_bad_setting_stops_startup_with_a_message_naming_it(string key, string value, string allowed)
    {
        var e = await Assert.ThrowsAsync<CometConfigurationException>(() => BuildAndStartAsync(new() { [key] = value }));
        Assert.Contains(key, e.Message);
        Assert.Contains(allowed, e.Message);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task A_value_of_the_wrong_type_names_the_key_too()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => BuildAndStartAsync(new() { ["Comet:Timeout"] = "a minute" }));
        Assert.Contains("Comet:Timeout", e.Message);
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Settings_bind_from_configuration_and_Instance_is_the_hosts_context()
    {
        await using var app = Build(new() { ["Comet:WorkStyle"] = "lpool", ["Comet:Timeout"] = "1234", ["Comet:AllowLegacyClients"] = "true" });
        await app.StartAsync();
        var context = app.Services.GetRequiredService<CometContext>();
        Assert.AreEqual("lpool", context.Options.WorkStyle);
        Assert.AreEqual(1234, context.Options.Timeout);
        Assert.IsTrue(context.Options.AllowLegacyClients);
        Assert.AreSame(context.Engine, app.Services.GetRequiredService<CometEngine>());
        await app.StopAsync();
    }
}
