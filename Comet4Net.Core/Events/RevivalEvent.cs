namespace Comet4Net.Events;

/// <summary>Raised when a dying connection gets a request again.</summary>
public sealed class RevivalEvent(CometEngine engine, CometConnection connection) : CometEvent(engine, connection);
