namespace Comet4Net.Delivery;

/// <summary>Where a reader is: the next log position to read and the last sequence number it passed.</summary>
internal struct ReadCursor(long logPosition, long lastSeq)
{
    internal long LogPosition = logPosition;
    internal long LastSeq = lastSeq;
}
