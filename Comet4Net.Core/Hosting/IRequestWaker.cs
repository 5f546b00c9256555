namespace Comet4Net.Hosting;

/// <summary>
/// What a host's attached request is woken through (<see cref="AttachedRequest.SetWaker(IRequestWaker)"/>,
/// <see cref="AttachedRequest.OnEnd(IRequestWaker)"/>): the request's own object, so that a held request
/// needs no delegate for it. Called on the sender's thread: keep it short (queue the real work).
/// </summary>
public interface IRequestWaker
{
    /// <summary>Something changed for the request: look again.</summary>
    void Wake();
}
