using System.Net;
using System.Text;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>A v2 client written from docs/protocol.md: acks, batches, line-delimited frames.</summary>
internal sealed class V2Client(HttpClient http, string path = "/conn")
{
    internal string Id { get; private set; } = "";
    internal string Secret { get; private set; } = "";
    internal long LastSeq { get; set; }
    internal string WorkStyle { get; private set; } = "";
    internal JObject ConnectData { get; private set; } = new();

    internal async Task ConnectAsync(string? ws = null)
    {
        using var response = await http.GetAsync($"{path}?cmd=conn&cv=2.0.0" + (ws is null ? "" : "&ws=" + ws));
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        Assert.AreEqual("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var frames = Lines(await response.Content.ReadAsStringAsync());
        Assert.HasCount(1, frames);
        Accept(frames[0]);
    }

    internal void Accept(JObject connFrame)
    {
        Assert.AreEqual("c4j", (string?)connFrame["channel"]);
        var data = (JObject)connFrame["data"]!;
        Assert.AreEqual("conn", (string?)data["type"]);
        ConnectData = data;
        Id = (string)data["cId"]!;
        Secret = (string)data["cs"]!;
        LastSeq = (long)data["seq"]!;
        WorkStyle = (string)data["ws"]!;
    }

    /// <summary>The same connection and position, its requests sent through <paramref name="other"/> (to another node).</summary>
    internal V2Client Through(HttpClient other) => new(other, path) { Id = Id, Secret = Secret, LastSeq = LastSeq, WorkStyle = WorkStyle, ConnectData = ConnectData };

    internal string RevivalUrl(string? ws = null) =>
        $"{path}?cmd=revival&cid={Id}&cs={Secret}&ack={LastSeq}" + (ws is null ? "" : "&ws=" + ws);

    /// <summary>One long poll: every frame of the answer; application frames advance LastSeq.</summary>
    internal async Task<(HttpStatusCode Status, List<JObject> Frames)> PollAsync(CancellationToken token = default, string? ws = null)
    {
        using var response = await http.GetAsync(RevivalUrl(ws), token);
        var body = await response.Content.ReadAsStringAsync(token);
        if (response.StatusCode != HttpStatusCode.OK) return (response.StatusCode, body.Length > 0 ? [JObject.Parse(body)] : []);
        var frames = Lines(body);
        foreach (var f in frames) Track(f);
        return (response.StatusCode, frames);
    }

    /// <summary>Reads a stream, yielding frames as they arrive (joining lines split across reads).</summary>
    internal async IAsyncEnumerable<JObject> StreamAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken token = default)
    {
        using var response = await http.GetAsync(RevivalUrl("stream"), HttpCompletionOption.ResponseHeadersRead, token);
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        await using var stream = await response.Content.ReadAsStreamAsync(token);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (await reader.ReadLineAsync(token) is { } line)
        {
            if (line.Length == 0) continue;
            var frame = JObject.Parse(line);
            Track(frame);
            yield return frame;
        }
    }

    private void Track(JObject frame)
    {
        // A gap's numbers are lost for good: like the clients, the position moves past them.
        if ((string?)frame["channel"] == "c4j" && frame["data"] is JObject { } data && (string?)data["type"] == "gap" && data["to"] is { Type: JTokenType.Integer } to)
            LastSeq = Math.Max(LastSeq, (long)to);
        if (frame["seq"] is { } seq)
        {
            var s = (long)seq;
            Assert.IsGreaterThan(LastSeq, s, "sequence numbers only grow");
            LastSeq = s;
        }
    }

    internal static List<JObject> Lines(string body)
    {
        if (body.Length > 0) Assert.EndsWith("\n", body);
        return body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(JObject.Parse).ToList();
    }
}

/// <summary>Reads Server-Sent Events the way EventSource does.</summary>
internal static class Sse
{
    internal sealed record Event(string? Id, string Name, string Data);

    /// <summary>The stream's events; <paramref name="comment"/> hears its comment lines (without the colon).</summary>
    internal static async IAsyncEnumerable<Event> ReadAsync(HttpResponseMessage response, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken token = default,
        Action<string>? comment = null)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(token);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string? id = null, name = null;
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(token) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0) yield return new Event(id, name ?? "message", data.ToString().TrimEnd('\n'));
                id = null; name = null; data.Clear();
                continue;
            }
            if (line.StartsWith(':'))
            {
                comment?.Invoke(line[1..].Trim());
                continue;
            }
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "id": id = value; break;
                case "event": name = value; break;
                case "data": data.Append(value).Append('\n'); break;
            }
        }
    }
}
