namespace Comet4Net.Client.Internal.Transports;

/// <summary>
/// One work style: opens a revival for the connector's position, hands every line to
/// <see cref="Connector.HandleLineAsync"/>, and says how the run ended. The rules (position, ack, what a
/// frame means, what comes next) live in the connector; a transport only says how bytes arrive.
/// </summary>
internal interface ITransport
{
    Task<RunResult> RunAsync(Connector connector, CancellationToken stop);
}
