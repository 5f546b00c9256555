using System.Diagnostics.Metrics;
using System.Reflection;
using Comet4Net.Backplane;
using Microsoft.Extensions.Logging;

namespace Comet4Net;

/// <summary>
/// The root of an application's push setup, as in Comet4J: registers the application's channels,
/// holds the <see cref="CometOptions"/> and owns the <see cref="CometEngine"/>. In ASP.NET Core,
/// <c>services.AddComet()</c> builds one; build more yourself (tests do) since nothing here is static
/// but <see cref="Instance"/>.
/// </summary>
public sealed class CometContext
{
    private static CometContext? _instance;
    private readonly object _sync = new();
    private string[] _channels = [];
    private Dictionary<string, ChannelOptions> _channelOptions = new(StringComparer.Ordinal); // copied on write: read on every delivery

    /// <summary>Creates a context with validated options. Throws <see cref="CometConfigurationException"/> naming a bad setting.</summary>
    public CometContext(CometOptions? options = null, TimeProvider? time = null, ILogger? logger = null)
        : this(options, time, logger, null, null)
    {
    }

    /// <summary>
    /// Creates a context whose engine shares its log, sessions and presence through
    /// <paramref name="backplane"/> (null: an <see cref="InMemoryBackplane"/>) and makes its meter with
    /// <paramref name="meterFactory"/> (null: a meter of its own).
    /// </summary>
    public CometContext(CometOptions? options, TimeProvider? time, ILogger? logger, ICometBackplane? backplane, IMeterFactory? meterFactory)
    {
        Options = (options ?? new CometOptions()).Clone();
        Options.Validate();
        if (!string.IsNullOrEmpty(Options.TokenKey)) Tokens = new CometTokens(Options.TokenKey, time);
        Engine = new CometEngine(this, time ?? TimeProvider.System, logger, backplane, meterFactory);
    }

    /// <summary>Issues and checks connection tokens; null unless <see cref="CometOptions.TokenKey"/> is set.</summary>
    public CometTokens? Tokens { get; }

    /// <summary>
    /// The context the host built (the DI singleton), for code ported from Comet4J's
    /// <c>CometContext.getInstance()</c>. Throws if no host has built one yet.
    /// </summary>
    public static CometContext Instance =>
        Volatile.Read(ref _instance) ?? throw new InvalidOperationException(
            "No CometContext has been built yet: call services.AddComet() and app.MapComet(\"/conn\") (or create a CometContext and call MakeInstance()).");

    /// <summary>Comet4J's name for <see cref="Instance"/>.</summary>
    public static CometContext GetInstance() => Instance;

    /// <summary>Makes this context the one <see cref="Instance"/> returns.</summary>
    public CometContext MakeInstance()
    {
        Volatile.Write(ref _instance, this);
        return this;
    }

    /// <summary>The settings (a validated copy).</summary>
    public CometOptions Options { get; }

    /// <summary>The engine: connections, sending, events.</summary>
    public CometEngine Engine { get; }

    /// <summary>Comet4J's getter for <see cref="Engine"/>.</summary>
    public CometEngine GetEngine() => Engine;

    /// <summary>The Comet4Net version.</summary>
    public string Version { get; } =
        typeof(CometContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "2.0.0";

    /// <summary>The registered application channels, in registration order.</summary>
    public IReadOnlyList<string> Channels => Volatile.Read(ref _channels);

    /// <summary>Comet4J's getter for <see cref="Channels"/>.</summary>
    public IReadOnlyList<string> GetAppModules() => Channels;

    /// <summary>
    /// Registers an application channel; clients receive the list on connect. A duplicate throws
    /// (as Comet4J's DoubleAppModuleKeyException did), so does a name outside [A-Za-z0-9_.-]{1,64}.
    /// </summary>
    public void RegisterChannel(string channel) => RegisterChannel(channel, ChannelOptions.Default);

    /// <summary>Registers a channel with history, presence, publishing or counts (see <see cref="ChannelOptions"/>).</summary>
    public void RegisterChannel(string channel, ChannelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(channel);
        if (!IsValidChannelName(channel))
            throw new ArgumentException($"'{channel}' is not a valid channel name: use 1 to 64 characters from A-Z a-z 0-9 _ . -", nameof(channel));
        if (channel == CometProtocol.SystemChannel)
            throw new ArgumentException($"'{CometProtocol.SystemChannel}' is the system channel and cannot be registered.", nameof(channel));
        lock (_sync)
        {
            if (Array.IndexOf(_channels, channel) >= 0)
                throw new DuplicateChannelException(channel);
            _channels = [.. _channels, channel];
            Volatile.Write(ref _channelOptions, new Dictionary<string, ChannelOptions>(_channelOptions, StringComparer.Ordinal) { [channel] = options });
            if (options.RequireSubscription) HasPrivateChannels = true;
            if (options.Policy is not null) HasChannelPolicies = true;
        }
    }

    /// <summary>True once a channel with <see cref="ChannelOptions.RequireSubscription"/> was registered.</summary>
    internal bool HasPrivateChannels { get; private set; }

    /// <summary>True once a channel with its own <see cref="ChannelOptions.Policy"/> was registered.</summary>
    internal bool HasChannelPolicies { get; private set; }

    /// <summary>The options of a registered channel, or null if it is not registered.</summary>
    public ChannelOptions? GetChannelOptions(string channel) =>
        Volatile.Read(ref _channelOptions).TryGetValue(channel, out var o) ? o : null;

    /// <summary>Comet4J's name for <see cref="RegisterChannel(string)"/>.</summary>
    public void RegistChannel(string channel) => RegisterChannel(channel);

    /// <summary>Removes a registered channel. Returns false if it was not registered.</summary>
    public bool RemoveChannel(string channel)
    {
        lock (_sync)
        {
            if (Array.IndexOf(_channels, channel) < 0) return false;
            _channels = _channels.Where(c => c != channel).ToArray();
            var options = new Dictionary<string, ChannelOptions>(_channelOptions, StringComparer.Ordinal);
            options.Remove(channel);
            Volatile.Write(ref _channelOptions, options);
            return true;
        }
    }

    /// <summary>True if the name has 1 to 64 characters from A-Z a-z 0-9 _ . -.</summary>
    public static bool IsValidChannelName(string? channel)
    {
        if (string.IsNullOrEmpty(channel) || channel.Length > 64) return false;
        foreach (var c in channel)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')) return false;
        }
        return true;
    }
}

/// <summary>Thrown when a channel is registered twice.</summary>
public sealed class DuplicateChannelException(string channel)
    : InvalidOperationException($"The channel '{channel}' is already registered.")
{
    /// <summary>The channel registered twice.</summary>
    public string Channel { get; } = channel;
}
