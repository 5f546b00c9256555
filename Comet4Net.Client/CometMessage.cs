using System.Text.Json;

namespace Comet4Net.Client;

/// <summary>One application message as the server sent it (a v2 frame).</summary>
public sealed class CometMessage
{
    internal CometMessage(long? seq, string channel, string? eventName, JsonElement data, long time, string? from, bool history)
    {
        Seq = seq;
        Channel = channel;
        Event = eventName;
        Data = data;
        Time = time;
        From = from;
        History = history;
    }

    /// <summary>The message's sequence number (strictly increasing for one client, not consecutive).</summary>
    public long? Seq { get; }

    /// <summary>The channel it was sent on.</summary>
    public string Channel { get; }

    /// <summary>The event within the channel (<c>SendToAll("chat", "typing", data)</c>), or null.</summary>
    public string? Event { get; }

    /// <summary>The name handlers are registered under: <c>channel</c>, or <c>channel.event</c> for an event within a channel.</summary>
    public string Name => Event is null ? Channel : Channel + "." + Event;

    /// <summary>The application's data, as JSON.</summary>
    public JsonElement Data { get; }

    /// <summary>When the server sent it, in milliseconds since 1970 (UTC).</summary>
    public long Time { get; }

    /// <summary>For a message a client published: the sender's user id, or its connection id. Set by the server.</summary>
    public string? From { get; }

    /// <summary>True for a message of a channel's history (asked for with <see cref="CometClient.SubscribeAsync"/>).</summary>
    public bool History { get; }

    /// <summary>The data deserialised as <typeparamref name="T"/> (System.Text.Json, web defaults unless given).</summary>
    public T? GetData<T>(JsonSerializerOptions? options = null) => Data.Deserialize<T>(options ?? CometClient.JsonOptions);

    /// <summary>The data as one line of JSON text.</summary>
    public override string ToString() => Data.GetRawText();
}
