using System.Net;
using System.Text.Json;

namespace Comet4Net.Client.Internal;

/// <summary>
/// Token refresh without reconnecting: the <c>conn</c> frame of a connection made with a signed token says how
/// long it has left (<c>ttl</c>); when three quarters of that are gone, <see cref="CometClientOptions.TokenProvider"/>
/// is asked for a new token, sent as <c>cmd=refresh</c>. Past the expiry the server ends the answer with
/// <c>token-expired</c>: the connector refreshes (<see cref="RefreshAsync"/>) and revives from its position.
/// A refresh the server refuses, or a provider that fails or gives nothing, stops the client with the reason
/// (<see cref="Refused"/>; the run in progress is cancelled through <see cref="Link"/>).
/// </summary>
internal sealed class TokenRefresher(Connector connector)
{
    private CancellationTokenSource? _timer;
    private CancellationTokenSource? _run;
    private CancellationToken _stop;

    /// <summary>Why a refresh was refused: the client stops with it.</summary>
    internal string? Refused { get; private set; }

    /// <summary>The token of one transport run: cancelled by <paramref name="stop"/>, or when a refresh in the background is refused.</summary>
    internal CancellationTokenSource Link(CancellationToken stop)
    {
        var run = CancellationTokenSource.CreateLinkedTokenSource(stop);
        Volatile.Write(ref _run, run);
        if (Refused is not null) run.Cancel();
        return run;
    }

    /// <summary>The server said <paramref name="ttlMs"/> ms are left: a refresh is due at three quarters of it (until <paramref name="stop"/>).</summary>
    internal void Schedule(long ttlMs, CancellationToken stop)
    {
        _stop = stop;
        Schedule(ttlMs);
    }

    // The timer's source is made, cancelled and disposed here only; its task uses its token for the delay alone.
    private void Schedule(long ttlMs)
    {
        var timer = ttlMs > 0 && connector.Options.TokenProvider is not null ? CancellationTokenSource.CreateLinkedTokenSource(_stop) : null;
        if (Interlocked.Exchange(ref _timer, timer) is { } old)
        {
            old.Cancel();
            old.Dispose();
        }
        if (timer is null) return;
        var delay = TimeSpan.FromMilliseconds(Math.Max(1000, ttlMs * 0.75));
        var wait = timer.Token;
        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(delay, wait).ConfigureAwait(false);
                var result = await RefreshAsync(_stop).ConfigureAwait(false);
                // Refused: the run in progress ends and the client stops. A network failure: the server says
                // token-expired at the expiry, and the connector refreshes then.
                if (result.Kind == RunKind.Refused) Volatile.Read(ref _run)?.Cancel();
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
            }
        }, CancellationToken.None);
    }

    /// <summary>
    /// Asks the provider for a token and sends it. <see cref="RunKind.Ended"/>: refreshed (the next one is
    /// scheduled); Refused (sets <see cref="Refused"/>); UnknownConnection; otherwise a failure to retry.
    /// </summary>
    internal async Task<RunResult> RefreshAsync(CancellationToken stop)
    {
        if (connector.Session is not { } session) return new(RunKind.NetworkFailure, Message: "not connected");
        string? token;
        try
        {
            token = connector.Options.TokenProvider is { } provider ? await provider(stop).ConfigureAwait(false) : null;
        }
        catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested)
        {
            return Refuse("token-callback: the TokenProvider failed: " + e.Message);
        }
        if (string.IsNullOrEmpty(token)) return Refuse("token-callback: the TokenProvider gave no token");
        using var open = CancellationTokenSource.CreateLinkedTokenSource(stop);
        open.CancelAfter(connector.Options.OpenTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, Url())
            {
                Content = new FormUrlEncodedContent([new("cmd", "refresh"), new("cid", session.ConnectionId), new("cs", session.Secret), new("token", token)]),
            };
            foreach (var (name, value) in connector.Options.Headers) request.Headers.TryAddWithoutValidation(name, value);
            using var response = await connector.Http.SendAsync(request, open.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(open.Token).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                using var doc = JsonDocument.Parse(body);
                Schedule(Connector.Num(doc.RootElement, "ttl"));
                return new(RunKind.Ended);
            }
            var status = (int)response.StatusCode;
            var (error, message, _) = Connector.ErrorOf(body);
            if (status == 404) return new(RunKind.UnknownConnection, Message: message);
            if (status is 400 or 401 or 403) return Refuse($"{error ?? "token-refused"}: {message ?? $"HTTP {status}"}");
            return new(RunKind.NetworkFailure, Message: message ?? $"HTTP {status}");
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            return new(RunKind.NetworkFailure, Message: "refresh timed out");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException)
        {
            return new(RunKind.NetworkFailure, Message: e.Message);
        }
    }

    /// <summary>The endpoint with the caller's parameters (not the token: the new one goes in the form, the only one sent).</summary>
    private Uri Url()
    {
        var text = new System.Text.StringBuilder(connector.Endpoint.ToString());
        var separator = connector.Endpoint.Query.Length > 1 ? '&' : '?';
        foreach (var (name, value) in connector.Options.Parameters)
        {
            text.Append(separator).Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
            separator = '&';
        }
        return new Uri(text.ToString());
    }

    private RunResult Refuse(string why)
    {
        Refused = why;
        return new(RunKind.Refused, Message: why);
    }
}
