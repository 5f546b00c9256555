namespace Comet4Net;

/// <summary>Names of the wire protocol (docs/protocol.md), as Comet4J's CometProtocol had them.</summary>
public static class CometProtocol
{
    /// <summary>The system channel.</summary>
    public const string SystemChannel = "c4j";
    /// <summary>Query parameter: the command.</summary>
    public const string FlagAction = "cmd";
    /// <summary>Query parameter: the client version.</summary>
    public const string FlagClientVersion = "cv";
    /// <summary>Query parameter: the connection id.</summary>
    public const string FlagId = "cid";
    /// <summary>Query parameter (v2): the connection secret.</summary>
    public const string FlagSecret = "cs";
    /// <summary>Query parameter (v2): the last sequence number the client processed.</summary>
    public const string FlagAck = "ack";
    /// <summary>Query parameter (v2): the requested work style.</summary>
    public const string FlagWorkStyle = "ws";
    /// <summary>Command: open a connection.</summary>
    public const string CmdConnect = "conn";
    /// <summary>Command: wait for messages.</summary>
    public const string CmdRevival = "revival";
    /// <summary>Command: close the connection.</summary>
    public const string CmdDrop = "drop";
    /// <summary>Query parameter (v2, <c>conn</c> and <c>revival</c>): the delta format the client applies (<see cref="DeltaFossil"/>).</summary>
    public const string DeltaParameter = "delta";
    /// <summary>The one delta format: Fossil's.</summary>
    public const string DeltaFossil = "fossil";
    /// <summary>The data of the frame that ends a request at its timeout (legacy).</summary>
    public const string Dying = "dying";
}

/// <summary>The two dialects of <c>/conn</c>.</summary>
public enum CometDialect
{
    /// <summary>Comet4J 0.1.x's: one frame per long poll, no sequence numbers.</summary>
    Legacy,
    /// <summary>Comet4Net's: sequence numbers, acknowledgements, batching, heartbeats, SSE.</summary>
    V2,
}

/// <summary>Whether a connection has a request attached.</summary>
public enum ConnectionState
{
    /// <summary>A request is attached: messages go out at once.</summary>
    Alive,
    /// <summary>No request attached: messages are kept until the next revival.</summary>
    Dying,
    /// <summary>Removed from the engine.</summary>
    Dropped,
}
