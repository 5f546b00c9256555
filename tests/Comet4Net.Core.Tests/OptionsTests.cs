namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class OptionsTests
{
    [TestMethod]
    public void Defaults_are_Comet4Js()
    {
        var o = new CometOptions();
        Assert.AreEqual(60000, o.Timeout);
        Assert.AreEqual(60000, o.CacheExpires);
        Assert.AreEqual(60000, o.CacheFrequency);
        Assert.AreEqual(5000, o.ConnExpires);
        Assert.AreEqual(5000, o.ConnFrequency);
        Assert.AreEqual("auto", o.WorkStyle);
        Assert.IsFalse(o.Debug);
        o.Validate();
    }

    [TestMethod]
    [DataRow("WorkStyle", "poll", "auto, stream, lpool, sse")]
    [DataRow("Language", "fr", "zh or en")]
    [DataRow("Timeout", "0", "greater than 0")]
    [DataRow("ConnExpires", "-5", "greater than 0")]
    [DataRow("Heartbeat", "-1", "0 or more")]
    public void A_bad_value_names_the_key_and_what_is_allowed(string key, string value, string allowed)
    {
        var o = new CometOptions();
        var property = typeof(CometOptions).GetProperty(key)!;
        property.SetValue(o, property.PropertyType == typeof(int) ? int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : value);
        var e = Assert.ThrowsExactly<CometConfigurationException>(o.Validate);
        Assert.AreEqual(key, e.Key);
        Assert.Contains("Comet:" + key, e.Message);
        Assert.Contains(allowed, e.Message);
    }

    [TestMethod]
    public void A_context_refuses_bad_options()
    {
        Assert.ThrowsExactly<CometConfigurationException>(() => new CometContext(new CometOptions { WorkStyle = "iframe" }));
    }

    [TestMethod]
    public void Work_style_names_are_parsed()
    {
        Assert.AreEqual("lpool", WorkStyles.Parse("LPOOL"));
        Assert.AreEqual("stream", WorkStyles.Parse(" stream "));
        Assert.IsNull(WorkStyles.Parse("iframe"));
    }
}
