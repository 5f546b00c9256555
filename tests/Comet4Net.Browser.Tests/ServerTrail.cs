using System.Collections.Concurrent;
using System.Diagnostics;
using Comet4Net.Events;
using Comet4Net.Listeners;
using Microsoft.Playwright;

namespace Comet4Net.Browser.Tests;

/// <summary>
/// What the server did during a browser test, with times from its start: every connect, revival and drop
/// (with its reason), the consoles of the pages it watches, and the lines the test adds. Printed, with the
/// connections left on the server, only when a step fails, so that a rare failure says what happened.
/// </summary>
internal sealed class ServerTrail : IDisposable
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly CometEngine _engine;
    private readonly CometListener<ConnectEvent> _connects;
    private readonly CometListener<RevivalEvent> _revivals;
    private readonly CometListener<DropEvent> _drops;

    public ServerTrail(CometEngine engine)
    {
        _engine = engine;
        _connects = engine.On<ConnectEvent>(e => Add($"connect {e.Connection}"));
        _revivals = engine.On<RevivalEvent>(e => Add($"revival {e.Connection}"));
        _drops = engine.On<DropEvent>(e => Add($"drop {e.Connection} {e.Reason}"));
    }

    /// <summary>Adds a line, stamped with the time since the trail began.</summary>
    public void Add(string line) => _lines.Enqueue($"{_clock.ElapsedMilliseconds} ms {line}");

    /// <summary>Keeps what <paramref name="page"/> writes to its console, under <paramref name="name"/>.</summary>
    public void Watch(IPage page, string name) => page.Console += (_, m) => Add($"{name} console {m.Type}: {m.Text}");

    /// <summary>Runs the test's steps; if one fails, prints the trail and the connections left, then fails as it did.</summary>
    public async Task RunAsync(Func<Task> steps)
    {
        try
        {
            await steps();
        }
        catch
        {
            Console.WriteLine($"{_clock.ElapsedMilliseconds} ms failed; connections on the server: {string.Join(", ", _engine.Connections)}");
            Console.WriteLine(string.Join("\n", _lines));
            throw;
        }
    }

    public void Dispose()
    {
        _engine.Off(_connects);
        _engine.Off(_revivals);
        _engine.Off(_drops);
    }
}
