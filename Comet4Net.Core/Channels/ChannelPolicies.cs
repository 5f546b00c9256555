using System.Security.Claims;
using Comet4Net.Backplane;
using Comet4Net.Hosting;
using Microsoft.Extensions.Logging;

namespace Comet4Net.Channels;

/// <summary>
/// Channels guarded by authorization policies (<see cref="ChannelOptions.Policy"/>, the default
/// <see cref="CometOptions.ChannelPolicy"/>), checked against the user of the request that made the
/// connection (or brought it back: a resume, a move to another node) on every path to a channel:
/// the channels named at connect and kept by a resumed session (here, awaited before the engine's own
/// steps), <c>sub</c>, <c>pub</c> and <c>count</c> (<see cref="CometHost.AuthorizeChannelAsync"/>), and
/// what a connection that named no channel receives (<see cref="AllowsNow"/>, once per connection and channel).
/// Anything but a clear yes refuses: no authorizer, an unknown policy, a handler that throws.
/// </summary>
internal sealed partial class ChannelPolicies(CometEngine engine)
{
    private ICometChannelAuthorizer? _authorizer;
    private int _warnedWaiting;
    private int _warnedNoAuthorizer;

    /// <summary>What evaluates policies (the host sets it); null: every guarded channel is refused.</summary>
    internal ICometChannelAuthorizer? Authorizer
    {
        get => Volatile.Read(ref _authorizer);
        set => Volatile.Write(ref _authorizer, value);
    }

    /// <summary>True if some channel may be guarded (a default policy, or a channel registered with one): the cheap test of hot paths.</summary>
    internal bool Active => !string.IsNullOrEmpty(engine.Options.ChannelPolicy) || engine.Context.HasChannelPolicies;

    /// <summary>The policy guarding <paramref name="channel"/>, or null.</summary>
    internal string? PolicyOf(string channel)
    {
        if (!Active) return null;
        if (engine.Context.GetChannelOptions(channel)?.Policy is { } own) return own.Length == 0 ? null : own;
        return string.IsNullOrEmpty(engine.Options.ChannelPolicy) ? null : engine.Options.ChannelPolicy;
    }

    /// <summary>True if <paramref name="user"/> may use <paramref name="channel"/> (true at once when no policy guards it).</summary>
    internal ValueTask<bool> AllowsAsync(ClaimsPrincipal user, string channel) =>
        PolicyOf(channel) is { } policy ? EvaluateAsync(user, channel, policy) : ValueTask.FromResult(true);

    /// <summary>The channels of <paramref name="channels"/> that <paramref name="user"/> may not use; null if none.</summary>
    internal async ValueTask<List<string>?> RefusedAsync(ClaimsPrincipal user, IEnumerable<string> channels)
    {
        List<string>? refused = null;
        foreach (var channel in channels)
        {
            if (!await AllowsAsync(user, channel).ConfigureAwait(false)) (refused ??= []).Add(channel);
        }
        return refused;
    }

    /// <summary>
    /// Connect: the channels named in <c>sub=</c> without those the policies refuse (asked before the
    /// engine's sync steps, which then ask the subscribe listeners about the rest).
    /// </summary>
    internal async ValueTask<(IReadOnlyCollection<string>? Allowed, List<string>? Refused)> SplitAsync(ClaimsPrincipal user, IReadOnlyCollection<string>? channels)
    {
        if (channels is null || channels.Count == 0 || !Active) return (channels, null);
        var refused = await RefusedAsync(user, channels).ConfigureAwait(false);
        return refused is null ? (channels, null) : (channels.Where(c => !refused.Contains(c)).ToList(), refused);
    }

    /// <summary>The result of connect, with the channels the policies refused listed beside those the listeners refused.</summary>
    internal static ConnectResult WithRefused(ConnectResult result, List<string>? refused)
    {
        if (refused is null || result.Connection is null) return result;
        return result with { RefusedChannels = [.. refused, .. result.RefusedChannels ?? []] };
    }

    /// <summary>
    /// Resume (here or on another node): the session's channels without those the policies refuse the
    /// user of the request that brings it back. Only for a request that proved the session's secret.
    /// </summary>
    internal async ValueTask<SessionState?> FilterAsync(SessionState? session, string? secret, ICometRequest request)
    {
        if (session is not { Subscriptions: { Count: > 0 } kept, Kicked: null } || !Active || !Connections.ConnectionIds.SecretMatches(secret, session.Secret)) return session;
        var refused = await RefusedAsync(request.User, kept.Keys).ConfigureAwait(false);
        if (refused is null) return session;
        return session with { Subscriptions = kept.Where(kv => !refused.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal) };
    }

    /// <summary>
    /// For a connection that named no channel, on the delivery path (which never waits): the policy's
    /// answer if it is known at once, as it is for claims, roles and assertions. A policy whose handlers
    /// wait (I/O) is refused here (logged once): such a channel is received after an explicit subscription,
    /// where the answer is awaited.
    /// </summary>
    internal bool AllowsNow(CometConnection connection, string channel)
    {
        if (PolicyOf(channel) is not { } policy) return true;
        var answer = EvaluateAsync(connection.Request.User, channel, policy);
        if (answer.IsCompletedSuccessfully) return answer.Result;
        _ = answer.AsTask(); // observed: EvaluateAsync never throws
        if (Interlocked.Exchange(ref _warnedWaiting, 1) == 0) PolicyWaits(engine.Logger, policy, channel);
        return false;
    }

    private ValueTask<bool> EvaluateAsync(ClaimsPrincipal user, string channel, string policy)
    {
        if (Authorizer is not { } authorizer)
        {
            if (Interlocked.Exchange(ref _warnedNoAuthorizer, 1) == 0) NoAuthorizer(engine.Logger, policy, channel);
            return ValueTask.FromResult(false);
        }
        try
        {
            var answer = authorizer.AuthorizeAsync(user, channel, policy);
            return answer.IsCompletedSuccessfully ? answer : AwaitAsync(answer, channel, policy);
        }
        catch (Exception e)
        {
            Failed(engine.Logger, e, policy, channel);
            return ValueTask.FromResult(false);
        }
    }

    private async ValueTask<bool> AwaitAsync(ValueTask<bool> answer, string channel, string policy)
    {
        try
        {
            return await answer.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Failed(engine.Logger, e, policy, channel);
            return false;
        }
    }

    /// <summary>The user id a connection made through ASP.NET Core authentication gets: its name identifier claim.</summary>
    internal static string? UserIdOf(ClaimsPrincipal user) =>
        user.Identity is { IsAuthenticated: true } ? user.FindFirst(ClaimTypes.NameIdentifier)?.Value : null;

    [LoggerMessage(EventId = 210, Level = LogLevel.Error, Message = "Comet channel '{Channel}' is guarded by policy '{Policy}' but no authorizer is set (AddAuthorization); refused (logged once)")]
    private static partial void NoAuthorizer(ILogger logger, string policy, string channel);

    [LoggerMessage(EventId = 211, Level = LogLevel.Error, Message = "Comet policy '{Policy}' failed for channel '{Channel}'; refused")]
    private static partial void Failed(ILogger logger, Exception exception, string policy, string channel);

    [LoggerMessage(EventId = 212, Level = LogLevel.Warning, Message = "Comet policy '{Policy}' (channel '{Channel}') did not answer at once: connections that name no channel do not receive channels it guards; they subscribe to them explicitly")]
    private static partial void PolicyWaits(ILogger logger, string policy, string channel);
}
