using System.Security.Claims;

namespace Comet4Net.Web.Internal;

/// <summary>
/// What a connection keeps of the user ASP.NET Core authentication established on its <c>conn</c> (or
/// resuming) request: the identities' claims and their authentication, name and role claim types, which
/// is what policies and listeners read. Not the handler's extras (a JWT's parsed token, a Windows
/// identity's handle, a bootstrap context): they would stay in memory for the connection's life. An
/// anonymous request keeps nothing.
/// </summary>
internal static class ConnectionUser
{
    internal static ClaimsPrincipal? Keep(ClaimsPrincipal? user)
    {
        if (user is null || !user.Identities.Any(i => i.IsAuthenticated || i.Claims.Any())) return null;
        var kept = new ClaimsPrincipal();
        foreach (var identity in user.Identities)
        {
            var copy = new ClaimsIdentity(identity.AuthenticationType, identity.NameClaimType, identity.RoleClaimType);
            copy.AddClaims(identity.Claims); // each claim is cloned onto the copy: nothing refers back to the request's identity
            kept.AddIdentity(copy);
        }
        return kept;
    }
}
