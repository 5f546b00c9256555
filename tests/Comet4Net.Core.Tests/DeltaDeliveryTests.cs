using System.Text;
using Comet4Net.Delivery;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class DeltaDeliveryTests
{
    private static (CometEngine Engine, CometConnection Delta, CometConnection Plain) Start()
    {
        var context = new CometContext();
        context.RegisterChannel("board", new ChannelOptions { Delta = true });
        var engine = context.Engine;
        var request = new SimpleCometRequest { QueryParameters = new Dictionary<string, string> { ["delta"] = "fossil" } };
        var delta = engine.Connect(request, CometDialect.V2, CometWorkStyle.Stream, "2.0.0").Connection!;
        return (engine, delta, TestSupport.Connect(engine));
    }

    private static JObject Frame(CometMessage m) => JObject.Parse(Encoding.UTF8.GetString(m.V2Frame));

    private static string State(int tick) => Encoding.UTF8.GetString(FossilDeltaTests.State(tick));

    [TestMethod]
    public void A_client_that_asked_gets_the_first_whole_then_deltas_that_rebuild_the_data()
    {
        var (engine, delta, plain) = Start();
        for (var tick = 1; tick <= 4; tick++) engine.SendToAll("board", JObject.Parse(State(tick)));
        var frames = TestSupport.Read(engine, delta, 0).Messages.Select(Frame).ToList();
        Assert.HasCount(4, frames);
        Assert.AreEqual(0, (int)frames[0]["d"]!);
        var text = (string)frames[0]["data"]!;
        Assert.AreEqual(1, (int)JObject.Parse(text)["tick"]!);
        for (var i = 1; i < 4; i++)
        {
            Assert.AreEqual(1, (int)frames[i]["d"]!);
            Assert.AreEqual((long)frames[i - 1]["seq"]!, (long)frames[i]["b"]!);
            var d = Encoding.Latin1.GetBytes((string)frames[i]["data"]!);
            Assert.IsLessThan(text.Length / 10, d.Length);
            text = Encoding.UTF8.GetString(FossilDelta.Apply(Encoding.UTF8.GetBytes(text), d));
            Assert.AreEqual(i + 1, (int)JObject.Parse(text)["tick"]!);
        }
        // A client that did not ask sees the plain frames, whole.
        foreach (var f in TestSupport.Read(engine, plain, 0).Messages.Select(Frame))
        {
            Assert.IsNull(f["d"]);
            Assert.AreEqual(JTokenType.Object, f["data"]!.Type);
        }
    }

    [TestMethod]
    public void The_delta_is_made_once_and_shared_by_every_client()
    {
        var (engine, first, _) = Start();
        var request = new SimpleCometRequest { QueryParameters = new Dictionary<string, string> { ["delta"] = "fossil" } };
        var second = engine.Connect(request, CometDialect.V2, CometWorkStyle.Stream, "2.0.0").Connection!;
        engine.SendToAll("board", JObject.Parse(State(1)));
        engine.SendToAll("board", JObject.Parse(State(2)));
        var a = TestSupport.Read(engine, first, 0).Messages;
        var b = TestSupport.Read(engine, second, 0).Messages;
        Assert.AreSame(a[1], b[1]);
        Assert.AreSame(a[1].V2Frame, b[1].V2Frame);
    }

    [TestMethod]
    public void Events_private_messages_and_deltas_not_smaller_go_out_as_before()
    {
        var (engine, delta, _) = Start();
        engine.SendToAll("board", 1);
        engine.SendToAll("board", 2); // "2" against "1": no smaller as a delta
        engine.SendToAll("board", "typing", new { who = "ann" });
        engine.SendTo("board", delta, JObject.Parse(State(1)));
        var frames = TestSupport.Read(engine, delta, 0).Messages.Select(Frame).ToList();
        Assert.AreEqual(0, (int)frames[0]["d"]!);
        Assert.AreEqual(0, (int)frames[1]["d"]!);
        Assert.AreEqual("2", (string)frames[1]["data"]!);
        Assert.IsNull(frames[2]["d"]);
        Assert.IsNull(frames[3]["d"]);
    }

    [TestMethod]
    public void After_a_resume_past_what_arrived_or_a_gap_the_next_message_is_whole()
    {
        var (engine, delta, _) = Start();
        for (var tick = 1; tick <= 3; tick++) engine.SendToAll("board", JObject.Parse(State(tick)));
        var first = TestSupport.Read(engine, delta, 0).Messages;
        Assert.AreEqual("\"d\":1,\"b\":" + first[1].Seq, first[2].DeltaFields);

        // The client confirms the second message only: the third was written but not known to have arrived.
        delta.Delta!.Resume(first[1].Seq);
        var again = TestSupport.Read(engine, delta, first[1].Seq).Messages;
        Assert.AreEqual("\"d\":0", again.Single().DeltaFields);
        engine.SendToAll("board", JObject.Parse(State(4)));
        delta.Delta.Resume(again[0].Seq);
        Assert.AreEqual("\"d\":1,\"b\":" + again[0].Seq, TestSupport.Read(engine, delta, again[0].Seq).Messages.Single().DeltaFields);

        // After a gap, nothing is known to be held: whole again.
        engine.SendToAll("board", JObject.Parse(State(5)));
        var next = engine.Delivery.Log.At(engine.Delivery.Log.PositionAfter(again[0].Seq + 1))!;
        var batch = new List<CometMessage> { next };
        delta.Delta.Choose(batch, 0, gap: true);
        Assert.AreEqual("\"d\":0", batch[0].DeltaFields);
    }
}
