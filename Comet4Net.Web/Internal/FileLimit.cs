using System.Runtime.InteropServices;

namespace Comet4Net.Web.Internal;

/// <summary>The process's open-file limit (soft RLIMIT_NOFILE) on Linux and macOS; null elsewhere or if it cannot be read.</summary>
internal static class FileLimit
{
    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [DllImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static extern int GetRLimit(int resource, out RLimit limit);

    internal static long? Read()
    {
        int resource;
        if (OperatingSystem.IsLinux()) resource = 7;      // RLIMIT_NOFILE
        else if (OperatingSystem.IsMacOS()) resource = 8;
        else return null;
        try
        {
            if (GetRLimit(resource, out var limit) != 0) return null;
            return limit.Current is 0 or > int.MaxValue ? null : (long)limit.Current;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// How many client connections a process with this file limit can hold without running out: the
    /// limit less what the process needs for itself (its assemblies, logs, Redis, epoll, the accept
    /// that is refused), 256 files and a twentieth of the limit.
    /// </summary>
    internal static long ConnectionsWithin(long limit) => Math.Max(16, limit - 256 - limit / 20);
}
