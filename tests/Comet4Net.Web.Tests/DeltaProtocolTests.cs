using System.Net;
using System.Text;
using Comet4Net.Delivery;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>Fossil deltas on the wire (docs/protocol.md, "Deltas"), over real HTTP: long polling, JSON-P, errors.</summary>
[TestClass]
public sealed class DeltaProtocolTests
{
    public TestContext TestContext { get; set; } = null!;

    private static Task<CometTestServer> StartAsync() =>
        CometTestServer.StartAsync(o => { o.AllowJsonp = true; o.Timeout = 2000; },
            c => c.RegisterChannel("board", new ChannelOptions { Delta = true }));

    private static JObject State(int tick)
    {
        var state = new JObject { ["tick"] = tick };
        for (var i = 0; i < 30; i++) state["sensor" + i] = new JObject { ["name"] = "Sensor number " + i, ["value"] = i };
        return state;
    }

    /// <summary>What a client does with frames marked d: the rebuilt data's tick, the base kept per channel.</summary>
    private sealed class Rebuilder
    {
        private (long Seq, byte[] Text) _base;

        internal int Tick(JObject frame)
        {
            var data = (string)frame["data"]!;
            byte[] text;
            if ((int)frame["d"]! == 0) text = Encoding.UTF8.GetBytes(data);
            else
            {
                Assert.AreEqual(_base.Seq, (long)frame["b"]!, "a delta against the base the client holds");
                text = FossilDelta.Apply(_base.Text, Encoding.Latin1.GetBytes(data));
            }
            _base = ((long)frame["seq"]!, text);
            return (int)JObject.Parse(Encoding.UTF8.GetString(text))["tick"]!;
        }
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static List<JObject> Lines(string body) =>
        body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(JObject.Parse).Where(f => (string?)f["channel"] != "c4j").ToList();

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task Long_polling_gets_whole_then_deltas_and_a_position_that_did_not_confirm_the_base_gets_it_whole()
    {
        await using var server = await StartAsync();
        var (status, body) = await GetAsync(server.Client, "/conn?cmd=conn&cv=2.0.0&ws=lpool&delta=fossil");
        Assert.AreEqual(HttpStatusCode.OK, status, body);
        var conn = (JObject)JObject.Parse(body.Split('\n')[0])["data"]!;
        string Poll(long ack) => $"/conn?cmd=revival&cid={conn["cId"]}&cs={conn["cs"]}&ack={ack}&ws=lpool&delta=fossil";
        var start = (long)conn["seq"]!;
        for (var i = 1; i <= 3; i++) server.Engine.SendToAll("board", State(i));

        var client = new Rebuilder();
        var first = Lines((await GetAsync(server.Client, Poll(start))).Body);
        CollectionAssert.AreEqual(new[] { 0, 1, 1 }, first.Select(f => (int)f["d"]!).ToArray());
        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, first.Select(client.Tick).ToArray());

        // That answer was lost after its first frame: the client resumes from the first message, which
        // does not confirm the base of the third: the second comes whole, then the third as a delta again.
        var lost = Lines((await GetAsync(server.Client, Poll((long)first[0]["seq"]!))).Body);
        CollectionAssert.AreEqual(new[] { 0, 1 }, lost.Select(f => (int)f["d"]!).ToArray());
        var again = new Rebuilder();
        CollectionAssert.AreEqual(new[] { 2, 3 }, lost.Select(again.Tick).ToArray());

        // The next poll confirms the third: a delta against it.
        server.Engine.SendToAll("board", State(4));
        var next = Lines((await GetAsync(server.Client, Poll((long)lost[1]["seq"]!))).Body).Single();
        Assert.AreEqual(1, (int)next["d"]!);
        Assert.AreEqual(4, again.Tick(next));
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    public async Task JSON_P_answers_carry_delta_frames_and_a_page_that_did_not_ask_sees_none()
    {
        await using var server = await StartAsync();
        static async Task<JArray> CallAsync(HttpClient http, string query)
        {
            var (status, body) = await GetAsync(http, "/conn?" + query + "&callback=cb");
            Assert.AreEqual(HttpStatusCode.OK, status, body);
            return JArray.Parse(body[(body.IndexOf('(') + 1)..body.LastIndexOf(')')]);
        }
        var conn = (JObject)(await CallAsync(server.Client, "cmd=conn&cv=2.0.0&delta=fossil"))[0]["data"]!;
        var plain = (JObject)(await CallAsync(server.Client, "cmd=conn&cv=2.0.0"))[0]["data"]!;
        for (var i = 1; i <= 2; i++) server.Engine.SendToAll("board", State(i));
        var frames = (await CallAsync(server.Client, $"cmd=revival&cid={conn["cId"]}&cs={conn["cs"]}&ack={conn["seq"]}&delta=fossil")).Cast<JObject>().ToList();
        var client = new Rebuilder();
        CollectionAssert.AreEqual(new[] { 1, 2 }, frames.Select(client.Tick).ToArray());
        Assert.AreEqual(1, (int)frames[1]["d"]!);
        var plainFrames = await CallAsync(server.Client, $"cmd=revival&cid={plain["cId"]}&cs={plain["cs"]}&ack={plain["seq"]}");
        Assert.HasCount(2, plainFrames);
        Assert.IsTrue(plainFrames.All(f => f["d"] is null && f["data"]!.Type == JTokenType.Object));
    }

    [TestMethod]
    [Timeout(30000, CooperativeCancellation = true)]
    [DataRow("cmd=conn&cv=2.0.0&delta=xdelta")]
    [DataRow("cmd=conn&cv=2.0.0&delta=")]
    [DataRow("cmd=revival&cid=AAAAAAAAAAAAAAAAAAAAAA&cs=x&ack=0&delta=FOSSIL")]
    public async Task An_unknown_delta_format_is_a_400_with_a_JSON_body(string query)
    {
        await using var server = await StartAsync();
        var (status, body) = await GetAsync(server.Client, "/conn?" + query);
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        var error = JObject.Parse(body);
        Assert.AreEqual("bad-request", (string?)error["error"]);
        StringAssert.Contains((string?)error["message"], "delta");
        Assert.AreEqual(0, server.Engine.ConnectionCount);
    }
}
