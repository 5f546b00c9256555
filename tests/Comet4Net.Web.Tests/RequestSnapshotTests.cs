using Comet4Net.Web.Internal;
using Microsoft.AspNetCore.Http;

namespace Comet4Net.Web.Tests;

/// <summary>
/// What a connection keeps of its conn request (HttpCometRequest): cookies are read from the copied
/// Cookie header when asked, and must read exactly as ASP.NET Core's Request.Cookies does.
/// </summary>
[TestClass]
public sealed class RequestSnapshotTests
{
    [TestMethod]
    [DataRow("userName=zoe", "userName")]
    [DataRow("a=1; userName=zoe; b=2", "userName")]
    [DataRow("userName=\"quoted value\"", "userName")]
    [DataRow("userName=\"abc\"", "userName")]
    [DataRow("userName=%E5%BC%A0%20san", "userName")]
    [DataRow("userName=first; userName=second", "userName")]
    [DataRow("a=1, userName=comma", "userName")]
    [DataRow("  userName = spaced ; b=2", "userName")]
    [DataRow("username=case", "userName")]
    [DataRow("userName=", "userName")]
    [DataRow("garbage;;=;userName=after", "userName")]
    [DataRow("userName=a=b", "userName")]
    [DataRow("", "userName")]
    [DataRow("userName=first; userName=", "userName")]
    [DataRow("userName=%zz%41", "userName")]
    [DataRow("userName=\"\"", "userName")]
    [DataRow("userName=\"a\"\"", "userName")]
    public void A_cookie_reads_as_ASP_NET_Core_reads_it(string header, string name)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Cookie = header;
        var expected = context.Request.Cookies[name];
        var snapshot = new HttpCometRequest(context, new Dictionary<string, string>());
        Assert.AreEqual(expected, snapshot.Cookie(name), $"Cookie: {header}");
    }

    [TestMethod]
    public void Headers_are_kept_after_the_request_is_let_go_and_read_without_regard_to_case()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers["X-Custom"] = "one";
        context.Request.Headers.UserAgent = "test-agent";
        var snapshot = new HttpCometRequest(context, new Dictionary<string, string> { ["cmd"] = "conn" });
        snapshot.Release();
        Assert.IsNull(snapshot.Native);
        Assert.AreEqual("one", snapshot.Header("x-custom"));
        Assert.AreEqual("test-agent", snapshot.Header("User-Agent"));
        Assert.AreEqual("conn", snapshot.Query("cmd"));
        Assert.IsNull(snapshot.Header("X-Missing"));
    }

    [TestMethod]
    public void Query_parameters_and_headers_are_kept_apart_in_one_array()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers["cmd"] = "a header, not the query";
        var snapshot = new HttpCometRequest(context, new Dictionary<string, string> { ["cmd"] = "conn", ["room"] = "1" });
        CollectionAssert.AreEqual(new[] { "cmd", "room" }, snapshot.QueryParameters.Keys.ToArray());
        Assert.AreEqual(2, snapshot.QueryParameters.Count);
        Assert.AreEqual("1", snapshot.QueryParameters["room"]);
        Assert.AreEqual("conn", snapshot.Query("cmd"));
        Assert.IsNull(snapshot.Query("Cmd"), "query names are matched with their case");
        Assert.AreEqual("a header, not the query", snapshot.Header("CMD"));
        Assert.IsNull(snapshot.Header("room"));
    }
}
