using Microsoft.Extensions.Logging;

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

    [TestMethod]
    public void The_closed_sets_are_read_into_their_values_when_set_and_bad_ones_refused_by_name()
    {
        var o = new CometOptions { Language = "zh", OverflowPolicy = "drop", WorkStyle = " LongPoll " };
        Assert.AreEqual(CometLanguage.Chinese, o.Language());
        Assert.AreEqual(CometOverflowPolicy.Drop, o.Overflow());
        Assert.AreEqual(CometWorkStyle.LongPoll, o.Style());
        o.Validate();
        Assert.AreEqual("Language", Assert.ThrowsExactly<CometConfigurationException>(() => new CometOptions { Language = "fr" }.Validate()).Key);
        Assert.AreEqual("OverflowPolicy", Assert.ThrowsExactly<CometConfigurationException>(() => new CometOptions { OverflowPolicy = "block" }.Validate()).Key);
    }

    [TestMethod]
    [DataRow(true, LogLevel.Information)]
    [DataRow(false, LogLevel.Debug)]
    public void Debug_logs_connection_events_at_Information_level(bool debug, LogLevel expected)
    {
        var logger = new ListLogger();
        var engine = new CometContext(new CometOptions { Debug = debug }, null, logger).Engine;
        var c = TestSupport.Connect(engine);
        engine.Drop(c);
        var events = logger.Entries.Where(e => e.Id is 101 or 102).ToArray();
        Assert.HasCount(2, events, "opened and removed");
        Assert.IsTrue(events.All(e => e.Level == expected), string.Join(", ", events.Select(e => e.Level)));
    }

    private sealed class ListLogger : ILogger
    {
        internal readonly List<(LogLevel Level, int Id)> Entries = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries) Entries.Add((logLevel, eventId.Id));
        }
    }
}
