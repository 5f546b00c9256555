using Comet4Net.Delivery;

namespace Comet4Net.Hosting;

/// <summary>
/// The bytes of each dialect's frames (see docs/protocol.md), for hosts. A message's frames are
/// encoded once and the same array is returned to every caller: write it, never change it.
/// </summary>
public static class CometFrames
{
    /// <summary>The message's legacy frame: '&lt;' + encodeURIComponent(json) + '&gt;'.</summary>
    public static byte[] Legacy(CometMessage message) => message.LegacyFrame;

    /// <summary>The message's v2 frame: one line of JSON, ended by '\n'.</summary>
    public static byte[] V2(CometMessage message) => message.V2Frame;

    /// <summary>The message's v2 frame marked <c>"history":true</c> (a subscribe's past messages; not shared).</summary>
    public static byte[] V2History(CometMessage message) => FrameEncoder.V2(message, history: true);

    /// <summary>The message as a named SSE event: <c>id</c> the sequence number, <c>event</c> the channel.</summary>
    public static byte[] Sse(CometMessage message) => message.SseFrame;

    /// <summary>The message as an unnamed SSE event whose data is the whole v2 frame.</summary>
    public static byte[] SseUnnamed(CometMessage message) => message.SseUnnamedFrame;

    /// <summary>The JSON object a frame carries: {"channel":…,"data":…,"time":…}, with <c>seq</c> first when given.</summary>
    public static string Json(long? seq, string channel, string dataJson, long time) => FrameEncoder.FrameJson(seq, channel, dataJson, time);

    /// <summary>
    /// The data of a v2 system frame: <c>{"type":…}</c> then <paramref name="fields"/> (strings, numbers,
    /// booleans, null, lists of strings and nested objects written directly; anything else through Newtonsoft).
    /// </summary>
    public static string SystemData(string type, IDictionary<string, object?>? fields = null) => SystemJson.Object("type", type, fields);

    /// <summary>An error body: <c>{"error":code,"message":…}</c> then <paramref name="extra"/>.</summary>
    public static string ErrorJson(string code, string message, IDictionary<string, object?>? extra = null) => SystemJson.Object("error", code, "message", message, extra);

    /// <summary>A v2 system frame (channel c4j, no seq) whose data is <c>{"type":…}</c> then <paramref name="fields"/> (see <see cref="SystemData"/>).</summary>
    public static byte[] V2System(string type, IDictionary<string, object?>? fields, long time) =>
        FrameEncoder.System(SystemFrameForm.V2, type, fields, time);

    /// <summary>A named SSE system event (<c>event: c4j</c>, no id) whose data is <c>{"type":…}</c> then <paramref name="fields"/>; <paramref name="prefix"/> (SSE lines) goes first.</summary>
    public static byte[] SseSystem(string type, IDictionary<string, object?>? fields, string? prefix = null) =>
        FrameEncoder.System(SystemFrameForm.SseNamed, type, fields, 0, prefix);

    /// <summary>An unnamed SSE system event: the whole v2 system frame as data (no id); <paramref name="prefix"/> (SSE lines) goes first.</summary>
    public static byte[] SseUnnamedSystem(string type, IDictionary<string, object?>? fields, long time, string? prefix = null) =>
        FrameEncoder.System(SystemFrameForm.SseUnnamed, type, fields, time, prefix);

    /// <summary>A legacy frame of <paramref name="json"/>.</summary>
    public static byte[] LegacyFromJson(string json) => FrameEncoder.LegacyFromJson(json);

    /// <summary>A v2 system frame (channel c4j, no seq) carrying <paramref name="dataJson"/>.</summary>
    public static byte[] V2System(string dataJson, long time) => FrameEncoder.V2System(dataJson, time);

    /// <summary>A named SSE system event (<c>event: c4j</c>, no id).</summary>
    public static byte[] SseSystem(string dataJson) => FrameEncoder.SseSystem(dataJson);

    /// <summary>An unnamed SSE system event: the whole v2 system frame as data (no id).</summary>
    public static byte[] SseUnnamedSystem(string dataJson, long time) => FrameEncoder.SseUnnamedSystem(dataJson, time);
}
