// Comet4Net's .NET client on the command line: every message's data as one line of JSON on stdout, gap
// notices, transport changes and the end on stderr, until Ctrl-C.
//
//   dotnet run --project samples/Console -- <conn URL> <channel>... [--ws websocket|stream|sse|lpool]
//
// With no channel it receives every channel the server allows it.
using Comet4Net.Client;

var channels = new List<string>();
string? url = null, transport = null;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--ws" && i + 1 < args.Length) transport = args[++i];
    else if (url is null) url = args[i];
    else channels.Add(args[i]);
}
if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var endpoint))
{
    Console.Error.WriteLine("usage: Comet4Net.Console <conn URL> <channel>... [--ws websocket|stream|sse|lpool]");
    return 2;
}

var options = new CometClientOptions { Channels = channels, Transport = transport ?? "auto" };
CometClient client;
try
{
    client = new CometClient(endpoint, options);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
await using var _ = client;
var stdout = Console.Out;
client.Started += (_, e) => Console.Error.WriteLine($"started {e.ConnectionId} on {e.Transport.WireName()}" +
    (e.Refused.Count > 0 ? $" (refused: {string.Join(", ", e.Refused)})" : ""));
client.Gap += (_, e) => Console.Error.WriteLine($"gap {e.From}..{(e.To?.ToString() ?? "")} ({e.Reason})");
client.TransportChanged += (_, e) => Console.Error.WriteLine($"transport {e.Previous?.WireName() ?? "-"} -> {e.Current.WireName()}: {e.Reason}");
var stopped = new TaskCompletionSource<CometStoppedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
client.Stopped += (_, e) =>
{
    Console.Error.WriteLine($"stopped: {e.Reason} {e.Message}");
    stopped.TrySetResult(e);
};

var cancel = new CancellationTokenSource(); // not disposed: ProcessExit may still cancel it while the process ends
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => cancel.Cancel();

var reading = Task.Run(async () =>
{
    await foreach (var message in client.ReadAllAsync(cancel.Token))
    {
        stdout.WriteLine(message.Data.GetRawText());
        stdout.Flush();
    }
});
try
{
    await client.StartAsync(cancel.Token);
    await Task.WhenAny(stopped.Task, Task.Delay(Timeout.Infinite, cancel.Token));
}
catch (OperationCanceledException)
{
}
catch (CometClientException e)
{
    Console.Error.WriteLine($"stopped: {e.Reason} {e.Message}");
    return 1;
}
await client.StopAsync();
try
{
    await reading;
}
catch (OperationCanceledException)
{
}
return stopped.Task.IsCompletedSuccessfully && stopped.Task.Result.Reason != CometStopReason.Stopped ? 1 : 0;
