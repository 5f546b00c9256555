using System.Text;
using Comet4Net.Delivery;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class FrameTests
{
    [TestMethod]
    public void A_legacy_frame_is_percent_encoded_json_between_angle_brackets()
    {
        var engine = new CometContext().Engine;
        var c = TestSupport.Connect(engine);
        engine.SendToAll("hello", new { Text = "Hi <b> & 你好 \n 100%", Count = 3 });
        var m = TestSupport.Read(engine, c, 0).Messages.Single();
        var frame = Encoding.ASCII.GetString(m.LegacyFrame);
        Assert.StartsWith("<", frame);
        Assert.EndsWith(">", frame);
        var inner = frame[1..^1];
        Assert.DoesNotContain("<", inner);
        Assert.DoesNotContain(">", inner);
        Assert.DoesNotContain(" ", inner);
        Assert.DoesNotContain("+", inner);
        var json = JObject.Parse(Uri.UnescapeDataString(inner));
        Assert.AreEqual("hello", (string?)json["channel"]);
        Assert.AreEqual("Hi <b> & 你好 \n 100%", (string?)json["data"]!["text"]);
        Assert.AreEqual(3, (int)json["data"]!["count"]!);
        Assert.AreEqual(m.Time, (long)json["time"]!);
        Assert.IsNull(json["seq"]);
    }

    [TestMethod]
    public void A_v2_frame_is_one_json_line_with_its_sequence_number()
    {
        var engine = new CometContext().Engine;
        var c = TestSupport.Connect(engine);
        engine.SendToAll("hello", "line\nbreak\u2028");
        var m = TestSupport.Read(engine, c, 0).Messages.Single();
        var text = Encoding.UTF8.GetString(m.V2Frame);
        Assert.EndsWith("\n", text);
        Assert.AreEqual(1, text.Count(ch => ch == '\n'));
        var json = JObject.Parse(text);
        Assert.AreEqual(m.Seq, (long)json["seq"]!);
        Assert.AreEqual("line\nbreak\u2028", (string?)json["data"]);
    }

    [TestMethod]
    public void An_sse_frame_has_id_event_and_one_data_line()
    {
        var engine = new CometContext().Engine;
        var c = TestSupport.Connect(engine);
        engine.SendToAll("news", new { a = "x\r\ny" });
        var m = TestSupport.Read(engine, c, 0).Messages.Single();
        var text = Encoding.UTF8.GetString(m.SseFrame);
        var lines = text.Split('\n');
        Assert.AreEqual($"id: {m.Seq}", lines[0]);
        Assert.AreEqual("event: news", lines[1]);
        Assert.StartsWith("data: {", lines[2]);
        Assert.AreEqual("", lines[3]);
        Assert.AreEqual("", lines[4]);
        Assert.HasCount(5, lines);
    }

    [TestMethod]
    public void Frames_are_encoded_once_and_shared()
    {
        var engine = new CometContext().Engine;
        var a = TestSupport.Connect(engine);
        var b = TestSupport.Connect(engine);
        engine.SendToAll("n", 1);
        var ma = TestSupport.Read(engine, a, 0).Messages.Single();
        var mb = TestSupport.Read(engine, b, 0).Messages.Single();
        Assert.AreSame(ma.LegacyFrame, mb.LegacyFrame);
        Assert.AreSame(ma.V2Frame, mb.V2Frame);
    }

    [TestMethod]
    public void Application_objects_serialise_with_camelCase_names()
    {
        var engine = new CometContext().Engine;
        Assert.AreEqual("{\"userName\":\"a\",\"count\":1}", engine.Sender.Serialize(new { UserName = "a", Count = 1 }));
        Assert.AreEqual("\"plain\"", engine.Sender.Serialize("plain"));
        Assert.AreEqual("null", engine.Sender.Serialize(null));
        Assert.AreEqual("{\"Keep\":1}", engine.Sender.Serialize(new Dictionary<string, int> { ["Keep"] = 1 }));
    }
}
