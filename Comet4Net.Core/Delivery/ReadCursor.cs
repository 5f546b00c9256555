namespace Comet4Net.Delivery;

/// <summary>
/// Where a reader is: the next log position to read and the last sequence number it passed. For hosts
/// (<see cref="Hosting.AttachedRequest.Collect"/>): opaque, copied by value, moved only by the engine.
/// </summary>
public struct ReadCursor(long logPosition, long lastSeq)
{
    internal long LogPosition = logPosition;
    internal long LastSeq = lastSeq;
}
