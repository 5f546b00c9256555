using Microsoft.Extensions.Logging;

namespace Comet4Net.Browser.Tests;

/// <summary>
/// With COMET_DIAG_LOG=/some/file, every test server's Comet4Net log lines (warnings and up, each
/// with its node's name) are appended there: what to read when a cluster test fails.
/// </summary>
internal sealed class DiagLogProvider(string node) : ILoggerProvider
{
    private static readonly object Sync = new();
    private static readonly string? Path = Environment.GetEnvironmentVariable("COMET_DIAG_LOG");

    public ILogger CreateLogger(string category) => new Logger(node, category);

    public void Dispose()
    {
    }

    private sealed class Logger(string node, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel level) => Path is not null && level >= LogLevel.Warning && category.StartsWith("Comet", StringComparison.Ordinal);

        public void Log<TState>(LogLevel level, EventId id, TState state, Exception? e, Func<TState, Exception?, string> format)
        {
            if (!IsEnabled(level)) return;
            lock (Sync) File.AppendAllText(Path!, $"{DateTime.UtcNow:HH:mm:ss.fff} {node} {level} {format(state, e)} {e}\n");
        }
    }
}
