namespace Comet4Net.Delivery;

/// <summary>
/// A message on its way to the shared log, before it has a sequence number. The backplane gives
/// it one (<see cref="CometMessage.Seq"/>) and hands the result to every node.
/// </summary>
/// <param name="Channel">The channel.</param>
/// <param name="DataJson">The application's data, serialised once.</param>
/// <param name="Time">Send time in milliseconds since 1970.</param>
/// <param name="TargetIds">The connections a private message is for; null for a broadcast.</param>
/// <param name="Event">The event within the channel, or null.</param>
/// <param name="From">Who published it (client messages), or null.</param>
/// <param name="TargetUser">The user a private message is for (<c>SendToUser</c>): a session of that user resuming later gets it too.</param>
/// <param name="Origin">The node that sent it (its engine's <c>NodeId</c>); other nodes deliver a message for a user to their own connections of that user.</param>
/// <param name="TraceParent">The W3C <c>traceparent</c> of the send (null unless an activity was current): a backplane carries it, so every node's spans join the sender's trace.</param>
/// <param name="TraceState">The W3C <c>tracestate</c> that goes with <paramref name="TraceParent"/>, or null.</param>
/// <param name="IdempotencyKey">A publish's idempotency key, already scoped (who and which channel), or null: a log shared by several
/// nodes appends a message with a key it saw within <paramref name="IdempotencyWindow"/> ms only once (see <see cref="CometMessage.IsDuplicate"/>).</param>
/// <param name="IdempotencyWindow">How long, in milliseconds, the log keeps <paramref name="IdempotencyKey"/>.</param>
public sealed record OutgoingMessage(string Channel, string DataJson, long Time, string[]? TargetIds = null, string? Event = null, string? From = null,
    string? TargetUser = null, string? Origin = null, string? TraceParent = null, string? TraceState = null, string? IdempotencyKey = null, long IdempotencyWindow = 0);
