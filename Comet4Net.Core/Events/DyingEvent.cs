namespace Comet4Net.Events;

/// <summary>Raised when a connection loses its request and starts dying (messages are kept for it).</summary>
public sealed class DyingEvent(CometEngine engine, CometConnection connection) : CometEvent(engine, connection);
