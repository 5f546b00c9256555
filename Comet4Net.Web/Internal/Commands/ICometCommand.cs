namespace Comet4Net.Web.Internal.Commands;

/// <summary>One command of <c>/conn</c> (<c>cmd=…</c>): answers the request, errors included.</summary>
internal interface ICometCommand
{
    /// <summary>The value of <c>cmd</c> it answers.</summary>
    string Name { get; }

    Task ExecuteAsync(CommandRequest request);
}

/// <summary>
/// A command on a connection already known: what a socket carries (the socket is the connection)
/// and, after the connection is looked up, the HTTP form of the same command.
/// </summary>
internal interface IConnectionCommand
{
    string Name { get; }

    /// <summary>False for a command that never answers on success (ack): a socket closes on its errors instead.</summary>
    bool Replies { get; }

    Task ExecuteAsync(CommandRequest request, CometConnection connection);
}
