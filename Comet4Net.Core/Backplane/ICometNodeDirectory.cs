namespace Comet4Net.Backplane;

/// <summary>
/// The nodes sharing a backplane, each with a small summary of its own (for the dashboard): every node
/// reports itself now and then, and a node that stops reporting leaves the list by itself.
/// </summary>
/// <remarks>
/// Optional: one process registers none (the dashboard then shows its own node). On Redis,
/// <c>AddRedis()</c> registers one that keeps each node's summary in a key that expires.
/// </remarks>
public interface ICometNodeDirectory
{
    /// <summary>The summaries (JSON objects) of the nodes that reported within their lifetime, this node's included once it reported.</summary>
    Task<IReadOnlyList<string>> ReadAsync(CancellationToken cancellationToken = default);
}
