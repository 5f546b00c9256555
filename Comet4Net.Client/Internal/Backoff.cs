namespace Comet4Net.Client.Internal;

/// <summary>Exponential backoff with full jitter, bounded by the server's resume window.</summary>
internal static class Backoff
{
    /// <summary>
    /// The longest wait: <paramref name="retryMax"/>, but never more than a quarter of the resume window
    /// (at least 1 s), so a client that keeps trying is back before the server forgets its position.
    /// </summary>
    internal static TimeSpan Cap(TimeSpan retryMax, TimeSpan resume)
    {
        if (resume <= TimeSpan.Zero) return retryMax;
        var quarter = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, resume.Ticks / 4));
        return quarter < retryMax ? quarter : retryMax;
    }

    /// <summary>
    /// The wait before try <paramref name="failures"/> + 1: uniform in [0, min(cap, base × 2^failures)). With a
    /// <paramref name="spread"/> (a draining node's, when no other node answered), the window is at least the
    /// spread and the wait at least half the window, so a node's clients come back to it spread over that time.
    /// </summary>
    internal static TimeSpan Delay(int failures, TimeSpan retryBase, TimeSpan retryMax, TimeSpan resume, double random, TimeSpan spread = default)
    {
        var cap = Cap(retryMax, resume);
        var exponential = retryBase.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 30));
        var ceiling = Math.Min(cap.TotalMilliseconds, Math.Max(spread.TotalMilliseconds, exponential));
        random = Math.Clamp(random, 0, 1);
        return TimeSpan.FromMilliseconds(spread > TimeSpan.Zero ? ceiling * (0.5 + 0.5 * random) : random * ceiling);
    }
}
