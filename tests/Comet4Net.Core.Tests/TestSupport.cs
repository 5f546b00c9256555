using Comet4Net.Delivery;

namespace Comet4Net.Core.Tests;

internal static class TestSupport
{
    internal static ICometRequest Request(string ip = "10.0.0.1", Dictionary<string, string>? cookies = null) =>
        new SimpleCometRequest { ClientIp = ip, Cookies = cookies ?? new Dictionary<string, string>() };

    internal static CometConnection Connect(CometEngine engine, CometDialect dialect = CometDialect.V2, string ip = "10.0.0.1")
    {
        var result = engine.Connect(Request(ip), dialect, CometWorkStyle.Stream, dialect == CometDialect.V2 ? "2.0.0" : "0.1.7");
        Assert.IsNotNull(result.Connection, result.Message);
        return result.Connection;
    }

    /// <summary>Everything the connection would receive after <paramref name="after"/>.</summary>
    internal static (List<CometMessage> Messages, DeliveryGap? Gap) Read(CometEngine engine, CometConnection connection, long after, int max = 1000)
    {
        var cursor = engine.CursorAfter(connection, after);
        var list = new List<CometMessage>();
        var gap = engine.Collect(connection, ref cursor, list, max);
        return (list, gap);
    }
}
