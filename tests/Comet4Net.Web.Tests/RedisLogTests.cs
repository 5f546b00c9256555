using Comet4Net.Redis.Internal;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Comet4Net.Web.Tests;

/// <summary>How the Redis backplane logs what fails: one line per kind, rate-limited, a stack only when unexpected.</summary>
[TestClass]
public sealed class RedisLogTests
{
    private sealed class Clock : TimeProvider
    {
        internal long Now = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Now;

        internal void Advance(TimeSpan by) => Now += by.Ticks;
    }

    private sealed class Lines : ILogger
    {
        internal readonly List<(LogLevel Level, int Event, string Text, Exception? Exception)> Logged = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Logged.Add((logLevel, eventId.Id, formatter(state, exception), exception));
    }

    private static RedisTimeoutException Down() =>
        new(CommandFlags.None, "Timeout performing GET (5000ms), next: GET x, mc: 1/1/0, mgr: 10 of 10 available, IOCP: (Busy=0,Free=1000,Min=2,Max=1000)", CommandStatus.Sent);

    [TestMethod]
    public void The_same_failure_is_one_line_per_30_seconds_with_the_repeats_counted_and_no_stack_when_Redis_just_does_not_answer()
    {
        var clock = new Clock();
        var lines = new Lines();
        var calls = new RedisCalls(null!, lines, clock);
        for (var i = 0; i < 5; i++) calls.Failed("read a session", Down());
        calls.Failed("save a session", Down()); // another kind: its own line
        clock.Advance(TimeSpan.FromSeconds(29));
        calls.Failed("read a session", Down());
        Assert.HasCount(2, lines.Logged, string.Join(" | ", lines.Logged.Select(l => l.Text)));
        clock.Advance(TimeSpan.FromSeconds(2));
        calls.Failed("read a session", Down());

        Assert.HasCount(3, lines.Logged);
        Assert.IsTrue(lines.Logged.All(l => l is { Level: LogLevel.Warning, Event: 301, Exception: null }), "warnings without a stack trace");
        Assert.AreEqual("Comet4Net could not read a session in Redis (RedisTimeoutException: Timeout performing GET (5000ms), next: GET x); it goes on with what this node holds",
            lines.Logged[0].Text, "the reason on the line, without the client's counters");
        StringAssert.Contains(lines.Logged[1].Text, "could not save a session");
        StringAssert.EndsWith(lines.Logged[2].Text, "(5 more like it in the last 30 s)");
    }

    [TestMethod]
    public void An_unexpected_failure_keeps_its_stack_trace()
    {
        var lines = new Lines();
        var calls = new RedisCalls(null!, lines, new Clock());
        calls.Log(302, "read", new InvalidOperationException("a bug"));
        Assert.HasCount(1, lines.Logged);
        Assert.AreEqual(302, lines.Logged[0].Event);
        Assert.IsInstanceOfType<InvalidOperationException>(lines.Logged[0].Exception);
    }
}
