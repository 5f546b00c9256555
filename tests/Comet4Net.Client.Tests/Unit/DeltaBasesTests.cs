using System.Text;
using System.Text.Json;
using Comet4Net.Client.Internal;
using Comet4Net.Delivery;

namespace Comet4Net.Client.Tests.Unit;

[TestClass]
public sealed class DeltaBasesTests
{
    private static readonly string Before = "{\"tick\":1,\"rows\":[" + string.Join(",", Enumerable.Range(0, 40).Select(i => $"{{\"name\":\"row {i}\",\"v\":{i}}}")) + "]}";
    private static readonly string After = Before.Replace("\"tick\":1", "\"tick\":2");

    private static JsonElement Frame(object frame) => JsonDocument.Parse(JsonSerializer.Serialize(frame)).RootElement.Clone();

    private static string Delta(string from, string to) => Encoding.Latin1.GetString(FossilDelta.Create(Encoding.UTF8.GetBytes(from), Encoding.UTF8.GetBytes(to)));

    private static bool Rebuild(DeltaBases bases, object frame, out JsonElement data)
    {
        var f = Frame(frame);
        data = f.GetProperty("data");
        return bases.TryRebuild("board", f.GetProperty("seq").GetInt64(), f, ref data);
    }

    [TestMethod]
    public void A_whole_frame_then_a_delta_against_it_give_the_data()
    {
        var bases = new DeltaBases();
        Assert.IsTrue(Rebuild(bases, new { seq = 5, channel = "board", d = 0, data = Before }, out var first));
        Assert.AreEqual(1, first.GetProperty("tick").GetInt32());
        Assert.IsTrue(Rebuild(bases, new { seq = 6, channel = "board", d = 1, b = 5, data = Delta(Before, After) }, out var second));
        Assert.AreEqual(2, second.GetProperty("tick").GetInt32());
        Assert.AreEqual(40, second.GetProperty("rows").GetArrayLength());
    }

    [TestMethod]
    public void A_delta_without_its_base_or_against_another_base_is_refused_and_the_base_forgotten()
    {
        var bases = new DeltaBases();
        Assert.IsFalse(Rebuild(bases, new { seq = 6, channel = "board", d = 1, b = 5, data = Delta(Before, After) }, out _), "no base held");
        var other = Before.Replace("row 7", "row X");
        Assert.IsTrue(Rebuild(bases, new { seq = 5, channel = "board", d = 0, data = other }, out _));
        Assert.IsFalse(Rebuild(bases, new { seq = 6, channel = "board", d = 1, b = 5, data = Delta(Before, After) }, out _), "the checksum catches another base");
        Assert.IsFalse(Rebuild(bases, new { seq = 7, channel = "board", d = 1, b = 5, data = Delta(other, After) }, out _), "forgotten after a failure");
        Assert.IsFalse(Rebuild(bases, new { seq = 8, channel = "board", d = 0, data = "{not json" }, out _));
    }
}
