using Comet4Net.Client.Internal;

namespace Comet4Net.Client.Tests.Unit;

[TestClass]
public sealed class BackoffTests
{
    private static readonly TimeSpan Base = TimeSpan.FromMilliseconds(500), Max = TimeSpan.FromSeconds(15);

    [TestMethod]
    [DataRow(60_000, 15_000)]
    [DataRow(20_000, 5_000)]
    [DataRow(2_000, 1_000)]
    [DataRow(0, 15_000)]
    public void The_longest_wait_is_a_quarter_of_the_resume_window_at_most(int resumeMs, int capMs) =>
        Assert.AreEqual(TimeSpan.FromMilliseconds(capMs), Backoff.Cap(Max, TimeSpan.FromMilliseconds(resumeMs)));

    [TestMethod]
    public void No_wait_ever_outlasts_the_resume_window()
    {
        var random = new Random(3);
        foreach (var resume in new[] { 4_000, 20_000, 60_000, 600_000 })
        {
            for (var failures = 0; failures < 200; failures++)
            {
                var delay = Backoff.Delay(failures, Base, Max, TimeSpan.FromMilliseconds(resume), random.NextDouble());
                Assert.IsLessThanOrEqualTo(Math.Max(1000, resume / 4.0), delay.TotalMilliseconds);
                Assert.IsLessThanOrEqualTo(Max.TotalMilliseconds, delay.TotalMilliseconds);
                Assert.IsGreaterThanOrEqualTo(0, delay.TotalMilliseconds);
            }
        }
    }

    [TestMethod]
    public void Full_jitter_spans_zero_to_the_doubling_ceiling()
    {
        var resume = TimeSpan.FromSeconds(60);
        Assert.AreEqual(TimeSpan.Zero, Backoff.Delay(3, Base, Max, resume, 0));
        Assert.AreEqual(TimeSpan.FromMilliseconds(500), Backoff.Delay(0, Base, Max, resume, 1));
        Assert.AreEqual(TimeSpan.FromMilliseconds(4000), Backoff.Delay(3, Base, Max, resume, 1));
        Assert.AreEqual(TimeSpan.FromSeconds(15), Backoff.Delay(10, Base, Max, resume, 1));
        Assert.AreEqual(TimeSpan.FromSeconds(15), Backoff.Delay(int.MaxValue, Base, Max, resume, 1), "no overflow after many failures");
    }

    [TestMethod]
    public void After_a_second_503_draining_the_wait_spans_half_the_spread_to_the_spread_and_grows_past_it()
    {
        var resume = TimeSpan.FromSeconds(60);
        var spread = TimeSpan.FromSeconds(4);
        Assert.AreEqual(TimeSpan.FromSeconds(2), Backoff.Delay(0, Base, Max, resume, 0, spread), "never sooner than half the spread");
        Assert.AreEqual(TimeSpan.FromSeconds(4), Backoff.Delay(0, Base, Max, resume, 1, spread));
        Assert.AreEqual(TimeSpan.FromSeconds(4), Backoff.Delay(4, Base, Max, resume, 0, spread), "the doubling passes the spread: half its ceiling");
        Assert.AreEqual(TimeSpan.FromSeconds(8), Backoff.Delay(4, Base, Max, resume, 1, spread));
        Assert.AreEqual(TimeSpan.FromSeconds(2), Backoff.Delay(0, Base, Max, TimeSpan.FromSeconds(8), 1, spread), "the resume window's quarter still bounds it");
    }
}
