namespace Comet4Net;

/// <summary>A snapshot of what an engine holds and has done.</summary>
public sealed record CometStatistics(
    int Connections,
    int DyingConnections,
    IReadOnlyDictionary<string, int> ConnectionsByWorkStyle,
    long LogMessages,
    long LogBytes,
    long LastSequence,
    long Connects,
    long Drops,
    long Expired,
    long MessagesSent,
    long FramesWritten,
    long BytesWritten,
    long Gaps,
    long LimitHits,
    long PendingDropped,
    long LogTrimmed);
