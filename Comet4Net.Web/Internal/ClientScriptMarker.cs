namespace Comet4Net.Web.Internal;

/// <summary>Remembers which script paths are mapped, so two MapComet calls do not map the script twice.</summary>
internal sealed class ClientScriptMarker
{
    private readonly HashSet<string> _paths = new(StringComparer.OrdinalIgnoreCase);

    internal bool TryClaim(string path)
    {
        lock (_paths) return _paths.Add(path);
    }
}
