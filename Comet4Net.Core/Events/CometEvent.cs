namespace Comet4Net.Events;

/// <summary>The base of every engine event: the engine that raised it and the connection concerned.</summary>
public abstract class CometEvent(CometEngine engine, CometConnection? connection)
{
    /// <summary>The engine that raised the event.</summary>
    public CometEngine Engine { get; } = engine;

    /// <summary>The connection concerned (null for a broadcast message event).</summary>
    public CometConnection? Connection { get; } = connection;

    /// <summary>Comet4J's name for <see cref="CometEvent.Connection"/>.</summary>
    public CometConnection? Conn => Connection;

    /// <summary>Comet4J's getter for <see cref="CometEvent.Connection"/>.</summary>
    public CometConnection? GetConn() => Connection;

    /// <summary>Comet4J's getter for <see cref="Engine"/>.</summary>
    public CometEngine GetTarget() => Engine;
}
