using Newtonsoft.Json;
using Newtonsoft.Json.Serialization;

namespace Comet4Net;

/// <summary>
/// Settings of a <see cref="CometContext"/>, bound from the <c>Comet</c> configuration section
/// (appsettings.json, environment variables such as <c>Comet__WorkStyle=lpool</c>, web.config).
/// Times are milliseconds, as in Comet4J. <see cref="Validate"/> names the first bad key.
/// </summary>
public sealed class CometOptions
{
    /// <summary>The configuration section the options bind from.</summary>
    public const string SectionName = "Comet";

    /// <summary>How long a revival request is held before the server answers <c>dying</c>. Default 60000.</summary>
    public int Timeout { get; set; } = 60000;

    /// <summary>How long a message is kept for connections that have not received it yet. Default 60000.</summary>
    public int CacheExpires { get; set; } = 60000;

    /// <summary>How often kept messages are checked for expiry. Default 60000.</summary>
    public int CacheFrequency { get; set; } = 60000;

    /// <summary>How long a connection may stay dying (no request attached) before it is removed. Default 5000.</summary>
    public int ConnExpires { get; set; } = 5000;

    /// <summary>How often dying connections are checked for expiry. Default 5000.</summary>
    public int ConnFrequency { get; set; } = 5000;

    /// <summary>
    /// <c>auto</c>, <c>stream</c>, <c>lpool</c>, <c>sse</c> or <c>websocket</c>. Default <c>auto</c>: a WebSocket for v2
    /// clients that can open one, streaming for the other clients that can read it, long polling for the rest.
    /// </summary>
    public string WorkStyle
    {
        get => _workStyle;
        set
        {
            _workStyle = value;
            ParsedWorkStyle = WorkStyles.TryParse(value, out var style) ? style : null;
        }
    }

    private string _workStyle = WorkStyles.Auto;

    /// <summary><see cref="WorkStyle"/> read once, when set; null if it is not a work style (<see cref="Validate"/> refuses it).</summary>
    internal CometWorkStyle? ParsedWorkStyle { get; private set; } = CometWorkStyle.Auto;

    /// <summary>
    /// Comet4J's <c>debug</c>: true logs the connection events (opened, resumed, removed) at Information level,
    /// so they show under the default logging settings; false logs them at Debug level. Default false.
    /// </summary>
    public bool Debug { get; set; }

    /// <summary><c>zh</c> or <c>en</c>: the language of messages a person reads (error bodies, refusals). Default <c>en</c>.</summary>
    public string Language
    {
        get => _language;
        set
        {
            _language = value;
            ParsedLanguage = value switch { "en" => CometLanguage.English, "zh" => CometLanguage.Chinese, _ => null };
        }
    }

    private string _language = "en";

    /// <summary><see cref="Language"/> read once, when set; null if it is neither <c>en</c> nor <c>zh</c> (<see cref="Validate"/> refuses it).</summary>
    internal CometLanguage? ParsedLanguage { get; private set; } = CometLanguage.English;

    /// <summary>Interval of the heartbeat written on idle v2 streams and SSE. 0 turns it off. Default 15000.</summary>
    public int Heartbeat { get; set; } = 15000;

    /// <summary>The <c>retry:</c> an SSE stream announces: how long an EventSource waits before it reconnects (ms). Default 1000.</summary>
    public int SseRetry { get; set; } = 1000;

    /// <summary>
    /// When the host stops (SIGTERM), how long (ms) the node takes to tell its clients to move to
    /// another node, each at its own moment spread over this time, so that they do not all reconnect
    /// at once; meanwhile it answers new connections <c>503 draining</c>. Bounded by the host's
    /// ShutdownTimeout (less a second for the rest of the shutdown). 0 ends every connection at once. Default 5000.
    /// </summary>
    public int DrainTime { get; set; } = 5000;

    /// <summary>Accept clients of the legacy dialect (comet4j-0.1.7.js), which cannot prove they own their connection id. Default false.</summary>
    public bool AllowLegacyClients { get; set; }

    /// <summary>Most connections the server holds; past it <c>conn</c> is refused (TooManyConnections). Default 10000.</summary>
    public int MaxConnections { get; set; } = 10000;

    /// <summary>Most connections from one client IP address; past it <c>conn</c> is refused (TooManyFromClient). 0 means no limit. Default 100.</summary>
    public int MaxConnectionsPerClient { get; set; } = 100;

    /// <summary>Most messages the shared log keeps, whatever their age. Default 100000.</summary>
    public int MaxLogMessages { get; set; } = 100000;

    /// <summary>Most bytes of message data the shared log keeps. Default 64 MiB.</summary>
    public long MaxLogBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Most messages sent to one connection alone (SendTo) kept for it. Default 1000.</summary>
    public int MaxPendingMessages { get; set; } = 1000;

    /// <summary>Most bytes sent to one connection alone kept for it. Default 4 MiB.</summary>
    public long MaxPendingBytes { get; set; } = 4L * 1024 * 1024;

    /// <summary>Largest message (serialised data) accepted by SendTo/SendToAll, in bytes. Default 1 MiB.</summary>
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>How long a publish's idempotency key is remembered (a second publish with it is not appended again). Default 300000 (5 minutes).</summary>
    public int IdempotencyWindow { get; set; } = 300000;

    /// <summary>Most idempotency keys one node remembers; past it the oldest go first (on Redis the keys expire after the window). Default 100000.</summary>
    public int MaxIdempotencyKeys { get; set; } = 100000;

    /// <summary>Longest query string accepted on <c>/conn</c>, in characters. Default 4096.</summary>
    public int MaxQueryLength { get; set; } = 4096;

    /// <summary>
    /// Origins (<c>https://example.com</c>, comma-separated) other than the server's own whose pages may open a
    /// WebSocket to <c>/conn</c>. Empty (the default): only same-origin pages (and clients that send no Origin).
    /// </summary>
    public string AllowedOrigins { get; set; } = "";

    /// <summary>
    /// Answer JSON-P requests (a <c>callback</c> parameter on a GET to <c>/conn</c>): long polling for pages that
    /// cannot use CORS. Any site's page may then connect, as with CORS <c>*</c>, unless <see cref="AllowedOrigins"/>
    /// is set. Default false.
    /// </summary>
    public bool AllowJsonp { get; set; }

    /// <summary>What every JSON-P callback name must start with (for example <c>_JSONP_</c>). Default: empty (any safe name).</summary>
    public string JsonpCallbackPrefix { get; set; } = "";

    /// <summary>How long one write to a client may take before its request is ended. Default 10000.</summary>
    public int SendTimeout { get; set; } = 10000;

    /// <summary>
    /// The key that signs connection tokens (<see cref="CometTokens"/>), at least 32 characters.
    /// When set, a <c>token</c> parameter on <c>conn</c> is checked and its user goes on the connection. Default: none.
    /// </summary>
    public string? TokenKey { get; set; }

    /// <summary>Refuse (InvalidToken) a <c>conn</c> without a valid <c>token</c>. Needs <see cref="TokenKey"/>. Default false.</summary>
    public bool RequireToken { get; set; }

    /// <summary>
    /// The ASP.NET Core authorization policy guarding every channel that names none of its own
    /// (<see cref="ChannelOptions.Policy"/>), registered or not. Default: none.
    /// </summary>
    public string? ChannelPolicy { get; set; }

    /// <summary>What happens when a connection's kept private messages pass their limit: <c>gap</c> (drop the oldest, tell the client) or <c>drop</c> (end the connection). Default <c>gap</c>.</summary>
    public string OverflowPolicy
    {
        get => _overflowPolicy;
        set
        {
            _overflowPolicy = value;
            ParsedOverflowPolicy = value switch { "gap" => CometOverflowPolicy.Gap, "drop" => CometOverflowPolicy.Drop, _ => null };
        }
    }

    private string _overflowPolicy = "gap";

    /// <summary><see cref="OverflowPolicy"/> read once, when set; null if it is neither <c>gap</c> nor <c>drop</c> (<see cref="Validate"/> refuses it).</summary>
    internal CometOverflowPolicy? ParsedOverflowPolicy { get; private set; } = CometOverflowPolicy.Gap;

    /// <summary>How the application's objects are turned into JSON. Default: camelCase properties, dictionary keys kept.</summary>
    [JsonIgnore]
    public JsonSerializerSettings SerializerSettings { get; set; } = DefaultSerializerSettings();

    /// <summary>The default serializer settings: camelCase property names (so a C# <c>Name</c> reaches the page as <c>name</c>, as Comet4J's beans did).</summary>
    public static JsonSerializerSettings DefaultSerializerSettings() => new()
    {
        ContractResolver = new DefaultContractResolver
        {
            NamingStrategy = new CamelCaseNamingStrategy { ProcessDictionaryKeys = false, OverrideSpecifiedNames = false },
        },
        NullValueHandling = NullValueHandling.Include,
        DateFormatHandling = DateFormatHandling.IsoDateFormat,
        Formatting = Formatting.None,
    };

    /// <summary>Checks every setting and throws <see cref="CometConfigurationException"/> naming the first bad key and what is allowed.</summary>
    public void Validate()
    {
        Positive(nameof(Timeout), Timeout);
        Positive(nameof(CacheExpires), CacheExpires);
        Positive(nameof(CacheFrequency), CacheFrequency);
        Positive(nameof(ConnExpires), ConnExpires);
        Positive(nameof(ConnFrequency), ConnFrequency);
        NotNegative(nameof(Heartbeat), Heartbeat);
        Positive(nameof(MaxConnections), MaxConnections);
        NotNegative(nameof(MaxConnectionsPerClient), MaxConnectionsPerClient);
        Positive(nameof(MaxLogMessages), MaxLogMessages);
        Positive(nameof(MaxLogBytes), MaxLogBytes);
        Positive(nameof(MaxPendingMessages), MaxPendingMessages);
        Positive(nameof(MaxPendingBytes), MaxPendingBytes);
        Positive(nameof(MaxMessageBytes), MaxMessageBytes);
        Positive(nameof(IdempotencyWindow), IdempotencyWindow);
        Positive(nameof(MaxIdempotencyKeys), MaxIdempotencyKeys);
        Positive(nameof(SendTimeout), SendTimeout);
        Positive(nameof(SseRetry), SseRetry);
        NotNegative(nameof(DrainTime), DrainTime);
        if (MaxQueryLength < 256)
            throw Bad(nameof(MaxQueryLength), MaxQueryLength.ToString(), "a number of characters, at least 256");
        if (ParsedWorkStyle is null)
            throw Bad(nameof(WorkStyle), WorkStyle, "one of auto, stream, lpool, sse, websocket");
        if (ParsedLanguage is null)
            throw Bad(nameof(Language), Language, "zh or en");
        if (!string.IsNullOrEmpty(TokenKey) && TokenKey.Length < 32)
            throw Bad(nameof(TokenKey), "(hidden)", "a secret of at least 32 characters");
        if (RequireToken && string.IsNullOrEmpty(TokenKey))
            throw Bad(nameof(RequireToken), "true", "true only when Comet:TokenKey is set");
        if (ParsedOverflowPolicy is null)
            throw Bad(nameof(OverflowPolicy), OverflowPolicy, "gap or drop");
        if (JsonpCallbackPrefix is null || JsonpCallbackPrefix.Length > MaxJsonpPrefixLength || JsonpCallbackPrefix.Length > 0 && !IsJsonpCallback(JsonpCallbackPrefix + "x"))
            throw Bad(nameof(JsonpCallbackPrefix), JsonpCallbackPrefix, $"empty, or the start of a JavaScript name (a letter, _ or $, then letters, digits, _, $ and dots between names), at most {MaxJsonpPrefixLength} characters");
        if (SerializerSettings is null)
            throw Bad(nameof(SerializerSettings), "null", "a JsonSerializerSettings instance");
    }

    /// <summary>Longest JSON-P callback name accepted.</summary>
    public const int MaxJsonpCallbackLength = 128;

    private const int MaxJsonpPrefixLength = 64;

    /// <summary>
    /// True if <paramref name="name"/> is a safe JSON-P callback: a JavaScript identifier path
    /// (<c>^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$</c>), at most 128 characters. Nothing
    /// else can reach the script the server writes: no brackets, parentheses, quotes, spaces or semicolons.
    /// </summary>
    public static bool IsJsonpCallback(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxJsonpCallbackLength) return false;
        var start = true;
        foreach (var c in name)
        {
            if (c == '.')
            {
                if (start) return false;
                start = true;
                continue;
            }
            var letter = c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or '_' or '$';
            if (!letter && (start || c is < '0' or > '9')) return false;
            start = false;
        }
        return !start;
    }

    private static void Positive(string key, long value)
    {
        if (value <= 0) throw Bad(key, value.ToString(System.Globalization.CultureInfo.InvariantCulture), "a whole number greater than 0");
    }

    private static void NotNegative(string key, long value)
    {
        if (value < 0) throw Bad(key, value.ToString(System.Globalization.CultureInfo.InvariantCulture), "a whole number, 0 or more");
    }

    private static CometConfigurationException Bad(string key, string? value, string allowed) =>
        new(key, $"Comet:{key} is '{value}', which is not valid: allowed is {allowed}.");

    internal CometOptions Clone()
    {
        var copy = (CometOptions)MemberwiseClone();
        return copy;
    }
}

/// <summary>Raised at startup when a <c>Comet</c> setting is invalid; <see cref="Key"/> names it.</summary>
public sealed class CometConfigurationException(string key, string message) : Exception(message)
{
    /// <summary>The setting at fault, without the <c>Comet:</c> prefix.</summary>
    public string Key { get; } = key;
}
