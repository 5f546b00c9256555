namespace Comet4Net.Backplane;

/// <summary>
/// The backplane's store (Redis) did not answer a question in time: whether a session exists is not
/// known now. It is not the same as "no such session": the engine answers the client "try again
/// shortly" (503) rather than "connect again", which would lose the messages kept for the session.
/// </summary>
public sealed class CometBackplaneUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
