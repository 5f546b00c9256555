using System.Reflection;

namespace Comet4Net.Tests.Shared;

/// <summary>Where the tests find the repository and how they were built.</summary>
public static class TestPaths
{
    /// <summary>The repository root (where Comet4Net.sln is), found above the test assembly.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Comet4Net.sln"))) return dir.FullName;
        throw new InvalidOperationException("Comet4Net.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The configuration the test assembly was built in (Debug, Release): the solution's other outputs are there too.</summary>
    public static string BuildConfiguration =>
        typeof(TestPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
}
