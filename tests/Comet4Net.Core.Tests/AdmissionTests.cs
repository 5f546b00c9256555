using Comet4Net.Connections;
using Comet4Net.Diagnostics;

namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class AdmissionTests
{
    [TestMethod]
    public void Slots_are_counted_per_node_and_per_address_and_given_back()
    {
        var counters = new EngineCounters();
        var admission = new Admission(new CometOptions { MaxConnections = 3, MaxConnectionsPerClient = 2 }, null, counters);
        Assert.AreEqual(CometOutcome.Ok, admission.Admit(TestSupport.Request("1.1.1.1"), out _).Outcome);
        Assert.AreEqual(CometOutcome.Ok, admission.Admit(TestSupport.Request("1.1.1.1"), out _).Outcome);
        Assert.AreEqual(CometOutcome.TooManyFromClient, admission.Admit(TestSupport.Request("1.1.1.1"), out _).Outcome);
        Assert.AreEqual(CometOutcome.Ok, admission.Admit(TestSupport.Request("2.2.2.2"), out _).Outcome);
        var full = admission.Admit(TestSupport.Request("3.3.3.3"), out _);
        Assert.AreEqual(CometOutcome.TooManyConnections, full.Outcome);
        Assert.IsGreaterThan(TimeSpan.Zero, full.RetryAfter);
        Assert.AreEqual(3, admission.Held);
        Assert.AreEqual(2, counters.LimitHits);
        admission.Release("1.1.1.1");
        Assert.AreEqual(CometOutcome.Ok, admission.Admit(TestSupport.Request("1.1.1.1"), out _).Outcome);
    }

    [TestMethod]
    public void A_token_names_the_user_and_a_bad_or_missing_one_is_refused_without_holding_a_slot()
    {
        var key = new string('k', 32);
        var options = new CometOptions { TokenKey = key, RequireToken = true };
        var tokens = new CometTokens(key);
        var admission = new Admission(options, tokens, new EngineCounters());
        var good = new SimpleCometRequest { QueryParameters = new Dictionary<string, string> { ["token"] = tokens.Issue("ann", TimeSpan.FromMinutes(1)) } };
        Assert.AreEqual(CometOutcome.Ok, admission.Admit(good, out var user).Outcome);
        Assert.AreEqual("ann", user);
        var forged = new SimpleCometRequest { QueryParameters = new Dictionary<string, string> { ["token"] = "forged" } };
        Assert.AreEqual(CometOutcome.InvalidToken, admission.Admit(forged, out _).Outcome);
        Assert.AreEqual(CometOutcome.InvalidToken, admission.Admit(new SimpleCometRequest(), out _).Outcome);
        Assert.AreEqual(1, admission.Held);
    }
}
