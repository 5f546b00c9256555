using System.Diagnostics.Metrics;

namespace Comet4Net.Core.Tests;

/// <summary>What an operator who listens to an engine's meter sees: each instrument moves when its event happens.</summary>
[TestClass]
public sealed class MetricsTests
{
    /// <summary>Reads one engine's instruments: observable ones on <see cref="Read"/>, sums per instrument (across tags).</summary>
    internal sealed class MeterReader : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Dictionary<string, double> _values = new();
        private readonly List<(string Name, double Value, Dictionary<string, object?> Tags)> _measurements = new();

        internal MeterReader(Meter meter)
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, meter)) l.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
            _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
            _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
            _listener.Start();
        }

        private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (_values)
            {
                // A histogram's measurements are counted; an observable instrument's are summed over its tags.
                _values[instrument.Name] = _values.GetValueOrDefault(instrument.Name) + (instrument is Histogram<double> ? 1 : value);
                var t = new Dictionary<string, object?>();
                foreach (var tag in tags) t[tag.Key] = tag.Value;
                _measurements.Add((instrument.Name, value, t));
            }
        }

        /// <summary>Every observable instrument's value now (histograms: how many were recorded since the last read).</summary>
        internal Dictionary<string, double> Read()
        {
            lock (_values)
            {
                _values.Clear();
                _measurements.Clear();
            }
            _listener.RecordObservableInstruments();
            lock (_values) return new Dictionary<string, double>(_values);
        }

        internal List<(string Name, double Value, Dictionary<string, object?> Tags)> Measurements(string name)
        {
            lock (_values) return _measurements.Where(m => m.Name == name).ToList();
        }

        public void Dispose() => _listener.Dispose();
    }

    [TestMethod]
    public async Task Each_instrument_moves_when_its_event_happens()
    {
        var time = new ManualTime();
        var engine = new CometContext(new CometOptions { ConnExpires = 5000, MaxPendingMessages = 1 }, time).Engine;
        using var meter = new MeterReader(engine.Metrics.Meter);
        var zero = meter.Read();
        foreach (var name in new[] { "comet.connections.opened", "comet.connections.closed", "comet.messages.sent", "comet.messages.delivered", "comet.delivery.io",
                     "comet.gaps", "comet.resumes", "comet.overflows", "comet.kicks", "comet.send.timeouts", "comet.limits.reached", "comet.log.messages",
                     "comet.log.size", "comet.backplane.lag", "comet.users" })
            Assert.AreEqual(0, zero[name], name);

        var c = TestSupport.Connect(engine);
        var now = meter.Read();
        Assert.AreEqual(1, now["comet.connections"]);
        Assert.AreEqual(1, now["comet.connections.opened"]);
        var held = meter.Measurements("comet.connections").Single();
        Assert.AreEqual("stream", held.Tags["comet.work_style"]);
        Assert.AreEqual(engine.NodeId, held.Tags["comet.node"]);
        Assert.AreEqual(c.State == ConnectionState.Dying ? "dying" : "alive", held.Tags["comet.connection.state"]);

        engine.SendToAll("news", "x");
        now = meter.Read();
        Assert.AreEqual(1, now["comet.messages.sent"]);
        Assert.AreEqual(1, now["comet.log.messages"]);
        Assert.IsTrue(now["comet.log.size"] > 0);

        engine.Host.AddWritten(1, 120);
        engine.Host.AddSendTimeout();
        now = meter.Read();
        Assert.AreEqual(1, now["comet.messages.delivered"]);
        Assert.AreEqual(120, now["comet.delivery.io"]);
        Assert.AreEqual(1, now["comet.send.timeouts"]);
        Assert.AreEqual(1, now["comet.limits.reached"]);

        // Away past ConnExpires, two private messages kept for it, resumed: one does not fit its queue (an overflow), and the reader is told of a gap.
        time.Advance(TimeSpan.FromMilliseconds(6000));
        Assert.AreEqual(1, engine.ExpireConnections());
        Assert.IsTrue(engine.SendTo("p", c.Id, 1));
        Assert.IsTrue(engine.SendTo("p", c.Id, 2));
        now = meter.Read();
        Assert.AreEqual(1, now["comet.connections.closed"]);
        Assert.AreEqual(0, now.GetValueOrDefault("comet.connections"));
        var resumed = (await engine.ResumeAsync(c.Id, c.Secret, TestSupport.Request(), null, 0)).Connection!;
        Assert.IsNotNull(TestSupport.Read(engine, resumed, 1).Gap);
        now = meter.Read();
        Assert.AreEqual(1, now["comet.resumes"]);
        Assert.AreEqual(1, now["comet.overflows"]);
        Assert.AreEqual(1, now["comet.gaps"]);
        Assert.AreEqual(2, now["comet.connections.opened"], "a resumed session is connected again");

        Assert.IsTrue(engine.Kick(resumed, "behave"));
        Assert.IsFalse(engine.Kick(resumed, "again"), "gone already: not kicked twice");
        now = meter.Read();
        Assert.AreEqual(1, now["comet.kicks"]);
        Assert.AreEqual(2, now["comet.connections.closed"]);
        Assert.AreEqual(0, now["comet.backplane.lag"], "the in-memory log is never behind");
    }

    [TestMethod]
    public void The_backplanes_append_round_trips_are_a_histogram_in_seconds()
    {
        var engine = new CometContext().Engine;
        using var meter = new MeterReader(engine.Metrics.Meter);
        // What a backplane that appends over the network reports through the node's receiver.
        Backplane.IBackplaneReceiver receiver = engine.Delivery;
        receiver.Appended(TimeSpan.FromMilliseconds(3), 5);
        var recorded = meter.Measurements("comet.backplane.append.duration");
        Assert.AreEqual(1, recorded.Count);
        Assert.AreEqual(0.003, recorded[0].Value, 1e-9);
    }
}
