namespace Comet4Net.Events;

/// <summary>Raised when a connection has been accepted (after its <c>conn</c> answer is prepared).</summary>
public sealed class ConnectEvent(CometEngine engine, CometConnection connection) : CometEvent(engine, connection);
