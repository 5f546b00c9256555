using System.Security.Claims;
using Comet4Net;
using Comet4Net.Events;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

// Two ways to know who is connecting, side by side:
//  1. ASP.NET Core authentication (here a cookie): /conn-cookie is mapped with RequireAuthorization().
//  2. A short-lived signed token (CometTokens, like iComet's /sign): the page fetches /token while
//     signed in and passes it to JS.Engine.start('/conn', 'token=…'); the engine checks it.
// Run: dotnet run --project samples/Auth, open http://localhost:5000
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
    .AddCookie(o => o.Events.OnRedirectToLogin = c => { c.Response.StatusCode = 401; return Task.CompletedTask; });
// 3. A channel guarded by a policy: only the user signed in as "admin" receives or posts on "staff".
builder.Services.AddAuthorizationBuilder().AddPolicy("admins", p => p.RequireUserName("admin"));
builder.Services.AddComet(null, (context, _) =>
{
    context.RegisterChannel("whisper");
    context.RegisterChannel("staff", new ChannelOptions { Policy = "admins", AllowPublish = true });
    // Every connection must belong to a user: from the token (already on the connection) or the cookie.
    context.Engine.On<BeforeConnectEvent>(e =>
    {
        var connection = e.Connection!;
        connection.UserId ??= e.Request.User.Identity?.IsAuthenticated == true ? e.Request.User.Identity.Name : null;
        if (connection.UserId is null) e.Refuse(401, "Sign in first, or pass a token from /token.");
        return true;
    });
});

var app = builder.Build();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseAuthentication();
app.UseAuthorization();

app.MapComet("/conn");                                   // token or cookie, checked by the listener above
app.MapComet("/conn-cookie").RequireAuthorization();     // cookie only: ASP.NET Core refuses others with 401

app.MapPost("/login", async (HttpContext http, string name) =>
{
    name = name.Trim();
    if (name.Length is 0 or > 50) return Results.BadRequest(new { error = "bad-name", message = "name must have 1 to 50 characters." });
    var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], CookieAuthenticationDefaults.AuthenticationScheme);
    await http.SignInAsync(new ClaimsPrincipal(identity));
    return Results.Ok(new { name });
}).DisableAntiforgery();

app.MapPost("/logout", async (HttpContext http) => { await http.SignOutAsync(); return Results.Ok(); }).DisableAntiforgery();

// The application's /sign: a token for the signed-in user, valid two minutes.
app.MapGet("/token", (ClaimsPrincipal user, CometContext comet) =>
    Results.Ok(new { token = comet.Tokens!.Issue(user.Identity!.Name!, TimeSpan.FromMinutes(2)) })).RequireAuthorization();

// Send to every connection of one user.
app.MapPost("/whisper", (ClaimsPrincipal user, CometEngine engine, string to, string text) =>
{
    var targets = engine.Connections.Where(c => c.UserId == to).ToList();
    var reached = engine.SendTo("whisper", targets, new { from = user.Identity!.Name, text });
    return Results.Ok(new { reached });
}).RequireAuthorization().DisableAntiforgery();

app.Run();
