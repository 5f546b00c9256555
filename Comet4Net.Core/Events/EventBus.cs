using System.Collections.Concurrent;
using Comet4Net.Diagnostics;
using Comet4Net.Listeners;
using Microsoft.Extensions.Logging;

namespace Comet4Net.Events;

/// <summary>
/// The engine's listeners, one list per event type, read without locks (copy on write). A listener
/// that throws raises <see cref="ErrorEvent"/> and the others still run.
/// </summary>
internal sealed class EventBus(ILogger logger)
{
    private readonly ConcurrentDictionary<Type, object> _lists = new();
    private int _subscribeListeners; // read on every delivery to a connection that names no channel

    /// <summary>True if a subscribe listener may refuse channels (read without a lookup).</summary>
    internal bool HasSubscribeListeners => Volatile.Read(ref _subscribeListeners) > 0;

    internal void Add<TEvent>(CometListener<TEvent> listener) where TEvent : CometEvent
    {
        ArgumentNullException.ThrowIfNull(listener);
        List<TEvent>().Add(listener);
        if (typeof(TEvent) == typeof(SubscribeEvent)) Interlocked.Increment(ref _subscribeListeners);
    }

    internal bool Remove<TEvent>(CometListener<TEvent> listener) where TEvent : CometEvent
    {
        if (!List<TEvent>().Remove(listener)) return false;
        if (typeof(TEvent) == typeof(SubscribeEvent)) Interlocked.Decrement(ref _subscribeListeners);
        return true;
    }

    /// <summary>Calls every listener of the event. Returns false if one vetoed.</summary>
    internal bool Fire<TEvent>(TEvent e) where TEvent : CometEvent
    {
        if (!_lists.TryGetValue(typeof(TEvent), out var list)) return true;
        var ok = true;
        foreach (var listener in ((ListenerList<TEvent>)list).Snapshot)
        {
            try
            {
                if (!listener.HandleEvent(e)) ok = false;
            }
            catch (Exception ex)
            {
                ReportError(e.Engine, e.Connection, ex, e);
            }
        }
        return ok;
    }

    /// <summary>Logs a failure and raises <see cref="ErrorEvent"/> (never for an error listener's own failure).</summary>
    internal void ReportError(CometEngine engine, CometConnection? connection, Exception exception, CometEvent? source)
    {
        CometLog.ListenerFailed(logger, source?.GetType().Name ?? "transport", exception);
        if (source is ErrorEvent || !_lists.TryGetValue(typeof(ErrorEvent), out var list)) return;
        var error = new ErrorEvent(engine, connection, exception, source);
        foreach (var listener in ((ListenerList<ErrorEvent>)list).Snapshot)
        {
            try { listener.HandleEvent(error); }
            catch (Exception ex) { CometLog.ErrorListenerFailed(logger, ex); }
        }
    }

    private ListenerList<TEvent> List<TEvent>() where TEvent : CometEvent =>
        (ListenerList<TEvent>)_lists.GetOrAdd(typeof(TEvent), static _ => new ListenerList<TEvent>());

    private sealed class ListenerList<TEvent> where TEvent : CometEvent
    {
        private CometListener<TEvent>[] _listeners = [];
        private readonly object _sync = new();

        internal CometListener<TEvent>[] Snapshot => Volatile.Read(ref _listeners);

        internal void Add(CometListener<TEvent> listener)
        {
            lock (_sync) _listeners = [.. _listeners, listener];
        }

        internal bool Remove(CometListener<TEvent> listener)
        {
            lock (_sync)
            {
                var index = Array.IndexOf(_listeners, listener);
                if (index < 0) return false;
                _listeners = [.. _listeners[..index], .. _listeners[(index + 1)..]];
                return true;
            }
        }
    }
}
