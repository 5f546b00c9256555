namespace Comet4Net;

/// <summary>The language of the messages a person reads (error bodies, refusals, log lines).</summary>
public enum CometLanguage
{
    /// <summary>English (<c>en</c>).</summary>
    English,
    /// <summary>Chinese (<c>zh</c>), as Comet4J's messages were.</summary>
    Chinese,
}

/// <summary>What happens when a connection's kept private messages pass their limit.</summary>
public enum CometOverflowPolicy
{
    /// <summary>Drop the oldest and tell the client with a gap notice (<c>gap</c>).</summary>
    Gap,
    /// <summary>End the connection (<c>drop</c>).</summary>
    Drop,
}

/// <summary>The closed-set settings as the values they were read into when set (a value Validate refuses reads as the default), and a message's language.</summary>
internal static class CometOptionValues
{
    internal static CometLanguage Language(this CometOptions options) => options.ParsedLanguage ?? CometLanguage.English;

    internal static CometOverflowPolicy Overflow(this CometOptions options) => options.ParsedOverflowPolicy ?? CometOverflowPolicy.Gap;

    internal static CometWorkStyle Style(this CometOptions options) => options.ParsedWorkStyle ?? CometWorkStyle.Auto;

    /// <summary>The level connection events are logged at: Information when <see cref="CometOptions.Debug"/> is on, else Debug.</summary>
    internal static Microsoft.Extensions.Logging.LogLevel ConnectionLogLevel(this CometOptions options) =>
        options.Debug ? Microsoft.Extensions.Logging.LogLevel.Information : Microsoft.Extensions.Logging.LogLevel.Debug;

    /// <summary>The English or the Chinese text, as <see cref="CometOptions.Language"/> says.</summary>
    internal static string Text(this CometOptions options, string en, string zh) =>
        options.Language() == CometLanguage.Chinese ? zh : en;
}
