using System.Diagnostics;

namespace Comet4Net;

/// <summary>
/// The names operators wire Comet4Net's traces and metrics by: the <see cref="ActivitySource"/>
/// <see cref="ActivitySourceName"/> and the meter <see cref="MeterName"/> (OpenTelemetry:
/// <c>AddSource(CometDiagnostics.ActivitySourceName)</c>, <c>AddMeter(CometDiagnostics.MeterName)</c>).
/// </summary>
/// <remarks>
/// Spans (each named here) cost nothing while nothing listens: the engine asks
/// <see cref="ActivitySource.HasListeners"/> first and allocates nothing otherwise.
/// </remarks>
public static class CometDiagnostics
{
    /// <summary>The name of Comet4Net's <see cref="ActivitySource"/>.</summary>
    public const string ActivitySourceName = "Comet4Net";

    /// <summary>The name of every engine's meter (<see cref="CometMetrics.MeterName"/>).</summary>
    public const string MeterName = CometMetrics.MeterName;

    /// <summary>A send (SendToAll, SendTo, SendToUser, sync and Async, a client's publish): serialise, listeners, append. Producer.</summary>
    public const string SendSpan = "comet.send";

    /// <summary>A message filed into one node's log (its arrival on that node), a child of the send's context. Consumer.</summary>
    public const string ReceiveSpan = "comet.receive";

    /// <summary>A batch of messages taken for one connection, a child of its first message's arrival, linked to the others'. Consumer.</summary>
    public const string DeliverSpan = "comet.deliver";

    /// <summary>A connection opened (after the before-connect and subscribe listeners).</summary>
    public const string ConnectSpan = "comet.connect";

    /// <summary>A session resumed within the resume window, with how many messages it is due again.</summary>
    public const string ResumeSpan = "comet.resume";

    /// <summary>A gap told to a connection: messages it asked for were no longer held.</summary>
    public const string GapSpan = "comet.gap";

    /// <summary>A connection ended (drop, expiry, kick, overflow, shutdown), with its reason.</summary>
    public const string DropSpan = "comet.drop";

    /// <summary>A connection's private queue passed its limit (gap or drop, by policy).</summary>
    public const string OverflowSpan = "comet.overflow";

    internal static readonly ActivitySource Source = new(ActivitySourceName, typeof(CometDiagnostics).Assembly.GetName().Version?.ToString());
}
