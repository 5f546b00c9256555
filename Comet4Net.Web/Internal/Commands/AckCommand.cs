using Comet4Net.Web.Internal.Transports;

namespace Comet4Net.Web.Internal.Commands;

/// <summary>
/// <c>{"cmd":"ack","seq":N}</c> on a socket: the client processed everything through N, so its
/// private messages up to N are let go (<see cref="DeliveryLoop.Acknowledge"/>, the rule a revival's
/// <c>ack</c> follows too). No reply; a bad <c>seq</c> closes the socket.
/// </summary>
internal sealed class AckCommand : IConnectionCommand
{
    public string Name => "ack";

    public bool Replies => false;

    public Task ExecuteAsync(CommandRequest r, CometConnection connection)
    {
        if (!CommandRequest.TryReadCount(r.Get("seq"), out var seq)) return r.Reply.ErrorAsync(CometErrors.BadSeq);
        DeliveryLoop.Acknowledge(connection, seq);
        return Task.CompletedTask;
    }
}
