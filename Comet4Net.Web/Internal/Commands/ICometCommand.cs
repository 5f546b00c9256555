namespace Comet4Net.Web.Internal.Commands;

/// <summary>One command of <c>/conn</c> (<c>cmd=…</c>): answers the request, errors included.</summary>
internal interface ICometCommand
{
    /// <summary>The value of <c>cmd</c> it answers.</summary>
    string Name { get; }

    Task ExecuteAsync(CommandRequest request);
}
