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

/// <summary>Reads the closed-set settings once and picks a message's language.</summary>
internal static class CometOptionValues
{
    internal static CometLanguage Language(this CometOptions options) =>
        options.Language == "zh" ? CometLanguage.Chinese : CometLanguage.English;

    internal static CometOverflowPolicy Overflow(this CometOptions options) =>
        options.OverflowPolicy == "drop" ? CometOverflowPolicy.Drop : CometOverflowPolicy.Gap;

    internal static CometWorkStyle Style(this CometOptions options) =>
        WorkStyles.TryParse(options.WorkStyle, out var style) ? style : CometWorkStyle.Auto;

    /// <summary>The English or the Chinese text, as <see cref="CometOptions.Language"/> says.</summary>
    internal static string Text(this CometOptions options, string en, string zh) =>
        options.Language() == CometLanguage.Chinese ? zh : en;
}
