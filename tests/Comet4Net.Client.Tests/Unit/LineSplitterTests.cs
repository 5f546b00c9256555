using System.Text;
using Comet4Net.Client.Internal;

namespace Comet4Net.Client.Tests.Unit;

[TestClass]
public sealed class LineSplitterTests
{
    [TestMethod]
    public void Lines_split_across_reads_and_multibyte_characters_come_out_whole()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"a\":\"é€\"}\r\n{\"b\":2}\n{\"c\"");
        var splitter = new LineSplitter();
        var lines = new List<string>();
        foreach (var b in bytes) splitter.Push([b], lines);
        CollectionAssert.AreEqual(new[] { "{\"a\":\"é€\"}", "{\"b\":2}" }, lines);
        splitter.Push(":3}\n"u8, lines);
        Assert.AreEqual("{\"c\":3}", lines[^1]);
    }
}
