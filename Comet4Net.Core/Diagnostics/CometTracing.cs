using System.Diagnostics;
using Comet4Net.Delivery;

namespace Comet4Net.Diagnostics;

/// <summary>
/// The engine's spans on <see cref="CometDiagnostics.ActivitySourceName"/>. Every call asks
/// <see cref="ActivitySource.HasListeners"/> first: with nothing listening it returns at once and allocates nothing.
/// </summary>
internal static class CometTracing
{
    // Tags: OpenTelemetry's messaging conventions where they fit, comet.* for the rest.
    internal const string SystemTag = "messaging.system", OperationTag = "messaging.operation.type", ChannelTag = "messaging.destination.name",
        BatchTag = "messaging.batch.message_count", SeqTag = "comet.seq", KindTag = "comet.send.kind", NodeTag = "comet.node",
        ConnectionTag = "comet.connection.id", WorkStyleTag = "comet.work_style";

    private const string System = "comet4net";

    /// <summary>Most links a delivery span carries to the other traces of its batch.</summary>
    internal const int MaxLinks = 32;

    private static ActivitySource Source => CometDiagnostics.Source;

    /// <summary>
    /// Starts a send's span (Producer) as the current activity, so the message carries its context; null if nothing listens.
    /// <paramref name="kind"/>: broadcast, connections, away, user or publish.
    /// </summary>
    internal static Activity? StartSend(string kind, string channel)
    {
        if (!Source.HasListeners()) return null;
        var span = Source.StartActivity(CometDiagnostics.SendSpan, ActivityKind.Producer);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(SystemTag, System);
            span.SetTag(OperationTag, "send");
            span.SetTag(ChannelTag, channel);
            span.SetTag(KindTag, kind);
        }
        return span;
    }

    /// <summary>Tags a send's span with the message's number once known (0: not numbered yet, or dropped).</summary>
    internal static void Numbered(Activity? send, long seq)
    {
        if (send is not null && seq > 0) send.SetTag(SeqTag, seq);
    }

    /// <summary>The W3C trace context of the current activity (the send's span, or the application's request), to travel with a message; nulls if none.</summary>
    internal static (string? Parent, string? State) CurrentContext()
    {
        var current = Activity.Current;
        if (current is null || current.IdFormat != ActivityIdFormat.W3C) return default;
        return (current.Id, current.TraceStateString);
    }

    /// <summary>
    /// Starts the span of a message's arrival on this node (Consumer), a child of the context it carries; null if nothing listens.
    /// <paramref name="previous"/>: the activity to make current again when it ends (<see cref="Received"/>).
    /// </summary>
    internal static Activity? StartReceive(CometMessage message, string node, out Activity? previous)
    {
        previous = null;
        if (message.HoleAfter is not null || !Source.HasListeners()) return null;
        previous = Activity.Current;
        // A message that carries no context starts a trace of its own, never a child of whatever flow files it
        // (a Redis leader's flow holds the activity of the send that started it).
        if (message.Trace is null && previous is not null) Activity.Current = null;
        var span = Source.StartActivity(CometDiagnostics.ReceiveSpan, ActivityKind.Consumer, message.Trace?.Context ?? default);
        if (span is null)
        {
            if (previous is not null && Activity.Current is null) Activity.Current = previous;
            return null;
        }
        // Before the message is visible to any reader: its deliveries here are children of its arrival.
        message.Trace = new TraceLink(span.Context);
        if (span.IsAllDataRequested)
        {
            span.SetTag(SystemTag, System);
            span.SetTag(OperationTag, "receive");
            span.SetTag(ChannelTag, message.Channel);
            span.SetTag(SeqTag, message.Seq);
            span.SetTag(NodeTag, node);
            span.SetTag(KindTag, message.IsBroadcast ? "broadcast" : "private");
        }
        return span;
    }

    /// <summary>Ends the arrival's span (once the message is filed).</summary>
    internal static void Received(Activity? span, Activity? previous)
    {
        if (span is not null) StopRestoring(span, previous);
    }

    /// <summary>
    /// Stops a span started with an explicit parent context: <see cref="Activity.Stop"/> makes its parent object
    /// current, which for a remote parent is none, so the caller's current activity is put back.
    /// </summary>
    private static void StopRestoring(Activity span, Activity? previous)
    {
        span.Stop();
        if (!ReferenceEquals(Activity.Current, previous)) Activity.Current = previous;
    }

    /// <summary>
    /// A batch taken for one connection (<paramref name="batch"/> from <paramref name="start"/>): one short span,
    /// a child of the first traced message's arrival, linked to the other traces in the batch.
    /// </summary>
    internal static void Delivered(CometConnection connection, List<CometMessage> batch, int start)
    {
        if (batch.Count <= start || !Source.HasListeners()) return;
        ActivityContext parent = default;
        List<ActivityLink>? links = null;
        for (var i = start; i < batch.Count; i++)
        {
            if (batch[i].Trace is not { } trace) continue;
            if (parent == default) parent = trace.Context;
            else if (trace.Context != parent && (links?.Count ?? 0) < MaxLinks) (links ??= []).Add(new ActivityLink(trace.Context));
        }
        var previous = Activity.Current;
        var span = Source.StartActivity(CometDiagnostics.DeliverSpan, ActivityKind.Consumer, parent, links: links);
        if (span is null) return;
        if (span.IsAllDataRequested) DeliveryTags(span, connection, batch, start);
        StopRestoring(span, previous);
    }

    private static void DeliveryTags(Activity span, CometConnection connection, List<CometMessage> batch, int start)
    {
        span.SetTag(SystemTag, System);
        span.SetTag(OperationTag, "process");
        span.SetTag(ConnectionTag, connection.Id);
        span.SetTag(WorkStyleTag, connection.WorkStyle);
        span.SetTag(BatchTag, batch.Count - start);
        span.SetTag(SeqTag, batch[^1].Seq);
        span.SetTag("comet.seq.first", batch[start].Seq);
    }

    /// <summary>
    /// A short span for something that happened to a connection (connect, resume, gap, drop, overflow), under
    /// the current activity (the request that caused it, if traced). <paramref name="tags"/> run only when recorded.
    /// </summary>
    internal static void Event<TState>(string name, CometConnection connection, TState state, Action<Activity, TState>? tags = null)
    {
        if (!Source.HasListeners()) return;
        using var span = Source.StartActivity(name, ActivityKind.Internal);
        if (span is not { IsAllDataRequested: true }) return;
        span.SetTag(SystemTag, System);
        span.SetTag(ConnectionTag, connection.Id);
        span.SetTag(WorkStyleTag, connection.WorkStyle);
        if (connection.UserId is { } user) span.SetTag("comet.user", user);
        tags?.Invoke(span, state);
    }
}

/// <summary>The trace context a message carries on this node: its send's, then (once filed here) its arrival's.</summary>
internal sealed class TraceLink(ActivityContext context)
{
    internal ActivityContext Context { get; } = context;

    /// <summary>The context of a W3C traceparent (and tracestate) carried by a message; null if absent or malformed.</summary>
    internal static TraceLink? Parse(string? traceParent, string? traceState) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var context) ? new TraceLink(context) : null;
}
