using Comet4Net.Events;
using Comet4Net.Listeners;

namespace Comet4Net;

/// <summary>Listeners: Comet4J's Add/Remove methods per event, and delegates beside them.</summary>
public sealed partial class CometEngine
{
    /// <summary>Adds a listener for events of type <typeparamref name="TEvent"/>.</summary>
    public void AddListener<TEvent>(CometListener<TEvent> listener) where TEvent : CometEvent => Bus.Add(listener);

    /// <summary>Removes a listener added with <see cref="AddListener{TEvent}"/>. Returns false if it was not there.</summary>
    public bool RemoveListener<TEvent>(CometListener<TEvent> listener) where TEvent : CometEvent => Bus.Remove(listener);

    /// <summary>Adds a delegate as a listener; returns it so that it can be removed.</summary>
    public CometListener<TEvent> On<TEvent>(Func<TEvent, bool> handler) where TEvent : CometEvent
    {
        var listener = new DelegateListener<TEvent>(handler);
        AddListener(listener);
        return listener;
    }

    /// <summary>Adds a delegate as a listener that never vetoes; returns it so that it can be removed.</summary>
    public CometListener<TEvent> On<TEvent>(Action<TEvent> handler) where TEvent : CometEvent =>
        On<TEvent>(e => { handler(e); return true; });

    /// <summary>Removes a listener returned by <see cref="On{TEvent}(Func{TEvent, bool})"/>. Returns false if it was not there.</summary>
    public bool Off<TEvent>(CometListener<TEvent> listener) where TEvent : CometEvent => RemoveListener(listener);

    public void AddBeforeConnectListener(CometListener<BeforeConnectEvent> l) => AddListener(l);
    public void RemoveBeforeConnectListener(CometListener<BeforeConnectEvent> l) => RemoveListener(l);
    public void AddConnectListener(CometListener<ConnectEvent> l) => AddListener(l);
    public void RemoveConnectListener(CometListener<ConnectEvent> l) => RemoveListener(l);
    public void AddBeforeDropListener(CometListener<BeforeDropEvent> l) => AddListener(l);
    public void RemoveBeforeDropListener(CometListener<BeforeDropEvent> l) => RemoveListener(l);
    public void AddDropListener(CometListener<DropEvent> l) => AddListener(l);
    public void RemoveDropListener(CometListener<DropEvent> l) => RemoveListener(l);
    public void AddDyingListener(CometListener<DyingEvent> l) => AddListener(l);
    public void RemoveDyingListener(CometListener<DyingEvent> l) => RemoveListener(l);
    public void AddRevivalListener(CometListener<RevivalEvent> l) => AddListener(l);
    public void RemoveRevivalListener(CometListener<RevivalEvent> l) => RemoveListener(l);
    public void AddMessageListener(CometListener<MessageEvent> l) => AddListener(l);
    public void RemoveMessageListener(CometListener<MessageEvent> l) => RemoveListener(l);
    public void AddBeforeRemoveListener(CometListener<BeforeRemoveEvent> l) => AddListener(l);
    public void RemoveBeforeRemoveListener(CometListener<BeforeRemoveEvent> l) => RemoveListener(l);
    public void AddRemovedListener(CometListener<RemovedEvent> l) => AddListener(l);
    public void RemoveRemovedListener(CometListener<RemovedEvent> l) => RemoveListener(l);
    public void AddErrorListener(CometListener<ErrorEvent> l) => AddListener(l);
    public void RemoveErrorListener(CometListener<ErrorEvent> l) => RemoveListener(l);
    public void AddSubscribeListener(CometListener<SubscribeEvent> l) => AddListener(l);
    public void RemoveSubscribeListener(CometListener<SubscribeEvent> l) => RemoveListener(l);
    public void AddUnsubscribeListener(CometListener<UnsubscribeEvent> l) => AddListener(l);
    public void RemoveUnsubscribeListener(CometListener<UnsubscribeEvent> l) => RemoveListener(l);
    public void AddBeforePublishListener(CometListener<BeforePublishEvent> l) => AddListener(l);
    public void RemoveBeforePublishListener(CometListener<BeforePublishEvent> l) => RemoveListener(l);
    public void AddUserOnlineListener(CometListener<UserOnlineEvent> l) => AddListener(l);
    public void RemoveUserOnlineListener(CometListener<UserOnlineEvent> l) => RemoveListener(l);
    public void AddUserOfflineListener(CometListener<UserOfflineEvent> l) => AddListener(l);
    public void RemoveUserOfflineListener(CometListener<UserOfflineEvent> l) => RemoveListener(l);
    public void AddOverflowListener(CometListener<OverflowEvent> l) => AddListener(l);
    public void RemoveOverflowListener(CometListener<OverflowEvent> l) => RemoveListener(l);
}
