using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Comet4Net.Client.Tests.Functional;

/// <summary>Keeps what the client logs, to show when a test fails.</summary>
internal sealed class ListLogger : ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)}{(exception is null ? "" : " " + exception.Message)}");

    public override string ToString() => string.Join("\n", _lines);
}
