namespace Comet4Net.Events;

/// <summary>The base of every engine event: the engine that raised it and the connection concerned.</summary>
public abstract class CometEvent(CometEngine engine, CometConnection? connection)
{
    /// <summary>The engine that raised the event.</summary>
    public CometEngine Engine { get; } = engine;

    /// <summary>The connection concerned (null for a broadcast message event).</summary>
    public CometConnection? Connection { get; } = connection;

    /// <summary>Comet4J's name for <see cref="Connection"/>.</summary>
    public CometConnection? Conn => Connection;

    /// <summary>Comet4J's getter for <see cref="Connection"/>.</summary>
    public CometConnection? GetConn() => Connection;

    /// <summary>Comet4J's getter for <see cref="Engine"/>.</summary>
    public CometEngine GetTarget() => Engine;
}

/// <summary>
/// Raised before a connection is accepted. A listener that returns false, or calls
/// <see cref="Refuse"/>, refuses it: the client gets <see cref="Status"/> (403 by default) and a
/// JSON body with <see cref="Reason"/>. This is where an application authenticates.
/// </summary>
public sealed class BeforeConnectEvent(CometEngine engine, CometConnection connection, ICometRequest request)
    : CometEvent(engine, connection)
{
    /// <summary>The <c>conn</c> request: query, cookies, headers, user.</summary>
    public ICometRequest Request { get; } = request;

    /// <summary>True once a listener refused.</summary>
    public bool Refused { get; private set; }

    /// <summary>The HTTP status the client gets when refused. Default 403.</summary>
    public int Status { get; private set; } = 403;

    /// <summary>Why the connection was refused; sent to the client.</summary>
    public string? Reason { get; private set; }

    /// <summary>Refuses the connection with an HTTP status (401 or 403 usually) and a reason the client sees.</summary>
    public void Refuse(int status = 403, string? reason = null)
    {
        if (status is < 400 or > 499) throw new ArgumentOutOfRangeException(nameof(status), status, "A refusal is a 4xx status.");
        Refused = true;
        Status = status;
        Reason = reason;
    }
}

/// <summary>Raised when a connection has been accepted (after its <c>conn</c> answer is prepared).</summary>
public sealed class ConnectEvent(CometEngine engine, CometConnection connection) : CometEvent(engine, connection);

/// <summary>Why a connection ends.</summary>
public enum DropReason
{
    /// <summary>The client asked (<c>cmd=drop</c>, a page closing).</summary>
    Client,
    /// <summary>It stayed dying longer than <c>ConnExpires</c>.</summary>
    Expired,
    /// <summary>The application dropped or kicked it.</summary>
    Server,
    /// <summary>The engine is shutting down.</summary>
    Shutdown,
    /// <summary>Its kept messages passed their limit and the overflow policy is <c>drop</c>.</summary>
    Overflow,
}

/// <summary>Raised before a connection is dropped on request; a listener returning false vetoes the drop.</summary>
public sealed class BeforeDropEvent(CometEngine engine, CometConnection connection, DropReason reason) : CometEvent(engine, connection)
{
    /// <summary>Why the connection is being dropped.</summary>
    public DropReason Reason { get; } = reason;
}

/// <summary>Raised when a connection has ended, whatever the reason (drop, expiry, kick).</summary>
public sealed class DropEvent(CometEngine engine, CometConnection connection, DropReason reason) : CometEvent(engine, connection)
{
    /// <summary>Why the connection ended.</summary>
    public DropReason Reason { get; } = reason;
}

/// <summary>Raised when a connection loses its request and starts dying (messages are kept for it).</summary>
public sealed class DyingEvent(CometEngine engine, CometConnection connection) : CometEvent(engine, connection);

/// <summary>Raised when a dying connection gets a request again.</summary>
public sealed class RevivalEvent(CometEngine engine, CometConnection connection) : CometEvent(engine, connection);

/// <summary>
/// Raised before a message is sent; a listener returning false cancels the send.
/// <see cref="Connection"/> is the target of a SendTo, null for SendToAll.
/// </summary>
public sealed class MessageEvent(CometEngine engine, CometConnection? target, string channel, object? data) : CometEvent(engine, target)
{
    /// <summary>The channel.</summary>
    public string Channel { get; } = channel;

    /// <summary>The application's data, before serialisation.</summary>
    public object? Data { get; } = data;

    /// <summary>The target connection of a SendTo, null for SendToAll.</summary>
    public CometConnection? Target => Connection;
}

/// <summary>Raised before an expired connection is removed; a listener returning false keeps it.</summary>
public sealed class BeforeRemoveEvent(CometEngine engine, CometConnection connection) : CometEvent(engine, connection);

/// <summary>Raised after a connection was removed from the engine.</summary>
public sealed class RemovedEvent(CometEngine engine, CometConnection connection, DropReason reason) : CometEvent(engine, connection)
{
    /// <summary>Why the connection was removed.</summary>
    public DropReason Reason { get; } = reason;
}

/// <summary>Raised when a listener throws or a transport fails; delivery to others goes on.</summary>
public sealed class ErrorEvent(CometEngine engine, CometConnection? connection, Exception exception, CometEvent? source)
    : CometEvent(engine, connection)
{
    /// <summary>What was thrown.</summary>
    public Exception Exception { get; } = exception;

    /// <summary>The event whose listener threw, if any.</summary>
    public CometEvent? Source { get; } = source;
}

/// <summary>
/// Raised when messages kept for a connection passed <c>MaxPendingMessages</c>/<c>MaxPendingBytes</c>
/// and the oldest were dropped (the client gets a gap notice), or the connection was ended (policy <c>drop</c>).
/// </summary>
public sealed class OverflowEvent(CometEngine engine, CometConnection connection, int dropped, bool connectionDropped)
    : CometEvent(engine, connection)
{
    /// <summary>How many messages were dropped.</summary>
    public int Dropped { get; } = dropped;

    /// <summary>True if the policy ended the connection.</summary>
    public bool ConnectionDropped { get; } = connectionDropped;
}

/// <summary>Raised when a user gets their first connection.</summary>
public sealed class UserOnlineEvent(CometEngine engine, CometConnection connection, string userId) : CometEvent(engine, connection)
{
    /// <summary>The user.</summary>
    public string UserId { get; } = userId;
}

/// <summary>Raised when a user's last connection is gone (dropped, kicked, or expired after ConnExpires).</summary>
public sealed class UserOfflineEvent(CometEngine engine, CometConnection connection, string userId) : CometEvent(engine, connection)
{
    /// <summary>The user.</summary>
    public string UserId { get; } = userId;
}

/// <summary>Raised before a v2 client subscribes to a channel; a listener returning false refuses (403).</summary>
public sealed class SubscribeEvent(CometEngine engine, CometConnection connection, string channel) : CometEvent(engine, connection)
{
    /// <summary>The channel.</summary>
    public string Channel { get; } = channel;
}

/// <summary>Raised when a client stops listening on a channel (or its connection ends).</summary>
public sealed class UnsubscribeEvent(CometEngine engine, CometConnection connection, string channel) : CometEvent(engine, connection)
{
    /// <summary>The channel.</summary>
    public string Channel { get; } = channel;
}

/// <summary>
/// Raised before a client's message (<c>JS.Engine.send</c>) goes out on a channel that allows it.
/// A listener may replace <see cref="Data"/>, or refuse (return false, or <see cref="Refuse"/>).
/// </summary>
public sealed class BeforePublishEvent(CometEngine engine, CometConnection connection, string channel, string? eventName, Newtonsoft.Json.Linq.JToken? data)
    : CometEvent(engine, connection)
{
    /// <summary>The channel.</summary>
    public string Channel { get; } = channel;

    /// <summary>The event within the channel, or null.</summary>
    public string? Event { get; } = eventName;

    /// <summary>The data the client sent; set it to rewrite the message.</summary>
    public Newtonsoft.Json.Linq.JToken? Data { get; set; } = data;

    /// <summary>True once a listener refused.</summary>
    public bool Refused { get; private set; }

    /// <summary>Why it was refused; sent to the client.</summary>
    public string? Reason { get; private set; }

    /// <summary>Refuses the message with a reason the client sees.</summary>
    public void Refuse(string? reason = null)
    {
        Refused = true;
        Reason = reason;
    }
}
