using Microsoft.Playwright;

namespace Comet4Net.Browser.Tests;

/// <summary>A page of test/chaos.html on one work style, in a browser context of its own, with its connection id.</summary>
internal sealed record ChaosPage(string Style, IBrowserContext Context, IPage Tab, string CId)
{
    /// <summary>Opens <paramref name="perStyle"/> pages of each of <paramref name="styles"/>, in that order, each once connected.</summary>
    internal static async Task<List<ChaosPage>> OpenAsync(string baseUrl, IEnumerable<string> styles, int perStyle)
    {
        var pages = new List<ChaosPage>();
        foreach (var style in styles)
        {
            for (var i = 0; i < perStyle; i++)
            {
                var context = await BrowserFixture.Browser.NewContextAsync();
                var tab = await context.NewPageAsync();
                tab.SetDefaultTimeout(30000);
                await tab.GotoAsync(baseUrl + "/test/chaos.html?ws=" + style);
                await tab.WaitForFunctionAsync("() => !!window.cId");
                pages.Add(new ChaosPage(style, context, tab, await tab.EvaluateAsync<string>("() => window.cId")));
            }
        }
        return pages;
    }
}
