namespace Comet4Net.Events;

/// <summary>Raised before an expired connection is removed; a listener returning false keeps it.</summary>
public sealed class BeforeRemoveEvent(CometEngine engine, CometConnection connection) : CometEvent(engine, connection);
