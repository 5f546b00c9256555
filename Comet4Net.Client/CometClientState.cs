namespace Comet4Net.Client;

/// <summary>Where the client's connector is. The connector moves between these states only (see the package README).</summary>
public enum CometClientState
{
    /// <summary>Not started yet.</summary>
    Idle,

    /// <summary>Sending <c>cmd=conn</c>: no connection id yet (at start, or after the server forgot the connection).</summary>
    Connecting,

    /// <summary>Opening a transport with a revival (<c>cid</c>, <c>cs</c>, <c>ack</c>, <c>ep</c>).</summary>
    Opening,

    /// <summary>A transport is open and frames arrive (heartbeats at least).</summary>
    Open,

    /// <summary>Waiting before the next try (backoff with full jitter, or the server's <c>Retry-After</c>).</summary>
    Waiting,

    /// <summary>Stopped: by <see cref="CometClient.StopAsync"/>, kicked, or refused. A stopped client does not start again.</summary>
    Stopped,
}
