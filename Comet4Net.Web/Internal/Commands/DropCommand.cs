using Comet4Net.Hosting;

namespace Comet4Net.Web.Internal.Commands;

/// <summary><c>cmd=drop</c>: the client closes its connection (a before-drop listener may keep it: 409).</summary>
internal sealed class DropCommand(CometContext context, ConnectionLookup lookup) : ICometCommand
{
    public string Name => CometProtocol.CmdDrop;

    public async Task ExecuteAsync(CommandRequest r)
    {
        if (r.Secret is not null && r.ConnectionId is { } id && CometHost.IsValidId(id) && context.Engine.GetConnection(id) is null
            && context.Engine.Host.ForgetSession(id, r.Secret))
        {
            // A client leaving while away (its connection already dropped): its kept session is forgotten.
            await CometResponses.WriteAsync(r.Http!, CometResponses.JsonContentType, "{\"ok\":true}"u8.ToArray());
            return;
        }
        var connection = await lookup.FindAsync(r);
        if (connection is null) return;
        var dropped = context.Engine.Host.Drop(connection);
        CometResponses.NoCache(r.Http!.Response);
        if (connection.Dialect == CometDialect.Legacy)
        {
            await CometResponses.WriteAsync(r.Http!, CometResponses.LegacyContentType, []);
            return;
        }
        if (!dropped)
        {
            await r.Reply.ErrorAsync(CometErrors.DropVetoed);
            return;
        }
        await CometResponses.WriteAsync(r.Http!, CometResponses.JsonContentType, "{\"ok\":true}"u8.ToArray());
    }
}
