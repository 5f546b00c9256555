using System.Text;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Web.Tests;

/// <summary>
/// Speaks the legacy dialect the way comet4j-0.1.7.js does and checks what it relies on: a long
/// poll body is exactly one frame, a stream read holds only whole frames.
/// </summary>
internal sealed class LegacyClient(HttpClient http, string path = "/conn", string param = "")
{
    internal const string ChromeAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";

    internal string Id { get; private set; } = "";
    internal string WorkStyle { get; private set; } = "";
    internal int Timeout { get; private set; }
    internal JArray Channels { get; private set; } = new();

    internal string Url(string cmd) =>
        $"{path}?cmd={cmd}" + (cmd == "conn" ? "&cv=0.1.7" : "&cid=" + Id) + (param.Length > 0 ? "&" + param : "") + "&ram=0.5";

    internal async Task<JObject> ConnectAsync(string userAgent = ChromeAgent)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Url("conn"));
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        using var response = await http.SendAsync(request);
        Assert.AreEqual(200, (int)response.StatusCode, await response.Content.ReadAsStringAsync());
        var frame = SingleFrame(await response.Content.ReadAsStringAsync());
        Assert.AreEqual("c4j", (string?)frame["channel"]);
        var data = (JObject)frame["data"]!;
        Id = (string)data["cId"]!;
        WorkStyle = (string)data["ws"]!;
        Timeout = (int)data["timeout"]!;
        Channels = (JArray)data["channels"]!;
        return frame;
    }

    /// <summary>One long poll; the body must be exactly one frame (or empty for an unknown cid).</summary>
    internal async Task<JObject?> PollAsync(CancellationToken token = default)
    {
        using var response = await http.GetAsync(Url("revival"), token);
        Assert.AreEqual(200, (int)response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(token);
        return body.Length == 0 ? null : SingleFrame(body);
    }

    /// <summary>Opens a stream and returns its frames as they arrive, checking every read ends on a frame boundary.</summary>
    internal async IAsyncEnumerable<JObject> StreamAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken token = default)
    {
        using var response = await http.GetAsync(Url("revival"), HttpCompletionOption.ResponseHeadersRead, token);
        Assert.AreEqual(200, (int)response.StatusCode);
        Assert.AreEqual("text/html; charset=UTF-8", response.Content.Headers.ContentType?.ToString());
        await using var stream = await response.Content.ReadAsStreamAsync(token);
        var buffer = new byte[65536];
        while (true)
        {
            var n = await stream.ReadAsync(buffer, token);
            if (n == 0) yield break;
            var text = Encoding.ASCII.GetString(buffer, 0, n);
            Assert.EndsWith(">", text, "a stream read must end on a whole frame (the legacy client cannot join split frames)");
            foreach (var part in text.Split('>', StringSplitOptions.RemoveEmptyEntries)) yield return Decode(part + ">");
        }
    }

    internal async Task<HttpResponseMessage> DropAsync() => await http.GetAsync(Url("drop"));

    internal static JObject SingleFrame(string body)
    {
        Assert.StartsWith("<", body);
        Assert.EndsWith(">", body);
        Assert.AreEqual(1, body.Count(c => c == '<'), "exactly one frame: " + body);
        return Decode(body);
    }

    /// <summary>decodeURIComponent, then JSON: what the legacy client does (with eval).</summary>
    internal static JObject Decode(string frame)
    {
        Assert.StartsWith("<", frame);
        Assert.EndsWith(">", frame);
        var inner = frame[1..^1];
        Assert.DoesNotContain("<", inner);
        return JObject.Parse(Uri.UnescapeDataString(inner));
    }
}
