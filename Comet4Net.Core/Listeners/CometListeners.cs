using Comet4Net.Events;

namespace Comet4Net.Listeners;

/// <summary>
/// A listener for one kind of engine event, as in Comet4J: override <see cref="HandleEvent"/>.
/// Returning false from a "before" listener vetoes the action; elsewhere the result is ignored.
/// </summary>
public abstract class CometListener<TEvent> where TEvent : CometEvent
{
    /// <summary>Handles the event. Return false to veto (before-connect, before-drop, before-remove, message).</summary>
    public abstract bool HandleEvent(TEvent e);
}

/// <summary>Listens to <see cref="BeforeConnectEvent"/>: return false (or call Refuse) to refuse a connection.</summary>
public abstract class BeforeConnectListener : CometListener<BeforeConnectEvent>;

/// <summary>Listens to <see cref="ConnectEvent"/>.</summary>
public abstract class ConnectListener : CometListener<ConnectEvent>;

/// <summary>Listens to <see cref="BeforeDropEvent"/>: return false to keep the connection.</summary>
public abstract class BeforeDropListener : CometListener<BeforeDropEvent>;

/// <summary>Listens to <see cref="DropEvent"/>.</summary>
public abstract class DropListener : CometListener<DropEvent>;

/// <summary>Listens to <see cref="DyingEvent"/>.</summary>
public abstract class DyingListener : CometListener<DyingEvent>;

/// <summary>Listens to <see cref="RevivalEvent"/>.</summary>
public abstract class RevivalListener : CometListener<RevivalEvent>;

/// <summary>Listens to <see cref="MessageEvent"/>: return false to cancel a send.</summary>
public abstract class MessageListener : CometListener<MessageEvent>;

/// <summary>Listens to <see cref="BeforeRemoveEvent"/>: return false to keep an expired connection.</summary>
public abstract class BeforeRemoveListener : CometListener<BeforeRemoveEvent>;

/// <summary>Listens to <see cref="RemovedEvent"/>.</summary>
public abstract class RemovedListener : CometListener<RemovedEvent>;

/// <summary>Listens to <see cref="ErrorEvent"/>.</summary>
public abstract class ErrorListener : CometListener<ErrorEvent>;

/// <summary>A listener made from a delegate, for <c>engine.AddConnectListener(e =&gt; …)</c>.</summary>
public sealed class DelegateListener<TEvent>(Func<TEvent, bool> handler) : CometListener<TEvent> where TEvent : CometEvent
{
    /// <inheritdoc />
    public override bool HandleEvent(TEvent e) => handler(e);
}

/// <summary>Listens to <see cref="OverflowEvent"/>: messages kept for a connection passed their limit.</summary>
public abstract class OverflowListener : CometListener<OverflowEvent>;

/// <summary>Listens to <see cref="BeforePublishEvent"/>: return false (or Refuse) to refuse a client's message; set Data to rewrite it.</summary>
public abstract class BeforePublishListener : CometListener<BeforePublishEvent>;

/// <summary>Listens to <see cref="SubscribeEvent"/>: return false to refuse a subscription.</summary>
public abstract class SubscribeListener : CometListener<SubscribeEvent>;

/// <summary>Listens to <see cref="UnsubscribeEvent"/>.</summary>
public abstract class UnsubscribeListener : CometListener<UnsubscribeEvent>;

/// <summary>Listens to <see cref="UserOnlineEvent"/>.</summary>
public abstract class UserOnlineListener : CometListener<UserOnlineEvent>;

/// <summary>Listens to <see cref="UserOfflineEvent"/>.</summary>
public abstract class UserOfflineListener : CometListener<UserOfflineEvent>;
