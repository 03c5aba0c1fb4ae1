using AuditPipeline.Detectors;
using Xunit;

namespace AuditPipeline.Detectors.Tests;

public sealed class SpikeDetectorTests
{
    /// <summary>Per-minute counts around 20 with Poisson-like noise, and spikes at the given minutes.</summary>
    private static double[] Series(int length, int seed, params (int At, double Height)[] spikes)
    {
        var random = new Random(seed);
        var values = new double[length];
        for (var i = 0; i < length; i++)
        {
            // Sum of uniforms: a bounded, bell-shaped noise with mean 20 and sd ≈ 2.
            values[i] = Math.Round(20 + ((random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5) * 4));
        }
        foreach (var (at, height) in spikes)
        {
            values[at] += height;
        }
        return values;
    }

    private static List<Detection> Run(IStreamingDetector detector, double[] values) => values.Select(detector.Next).ToList();

    [Fact]
    public void Iid_spike_detects_each_spike_at_onset_and_stays_quiet_on_the_normal_parts()
    {
        var spikes = new[] { (150, 40.0), (230, 25.0), (320, 60.0) };
        var results = Run(new IidSpikeDetector(), Series(400, seed: 1, spikes));

        foreach (var (at, _) in spikes)
        {
            Assert.True(results[at].IsAnomaly, $"spike at {at} not detected (score {results[at].Score})");
        }
        var falseAlerts = results.Select((r, i) => (r, i)).Count(x => x.r.IsAnomaly && spikes.All(s => s.Item1 != x.i));
        Assert.True(falseAlerts <= 2, $"{falseAlerts} false alerts on 397 normal points (99% confidence allows ~1%)");
        Assert.All(results, r => Assert.InRange(r.Score, 0, 1));
    }

    [Fact]
    public void Iid_spike_does_not_alert_before_its_history_is_full()
    {
        var results = Run(new IidSpikeDetector(history: 100), Series(120, seed: 2, (50, 100.0)));
        Assert.False(results[50].IsAnomaly);
        Assert.True(results[50].Score > 0.99); // scored, but cold start holds the alert
    }

    [Fact]
    public void Iid_spike_p_value_matches_a_direct_computation()
    {
        var detector = new IidSpikeDetector(history: 3);
        detector.Next(1);
        detector.Next(2);
        detector.Next(4);
        // S = (1-2)² + (1-4)² + (2-4)² = 14, σ = √14 / 3.
        var sigma = Math.Sqrt(14) / 3;
        var expected = new[] { 1.0, 2.0, 4.0 }.Average(r => 1 - Normal.Cdf((5 - r) / sigma));
        Assert.Equal(1 - expected, detector.Next(5).Score, precision: 9);
    }

    [Fact]
    public void Normal_cdf_matches_known_values()
    {
        Assert.Equal(0.5, Normal.Cdf(0), precision: 7);
        Assert.Equal(0.8413447, Normal.Cdf(1), precision: 6);
        Assert.Equal(0.9772499, Normal.Cdf(2), precision: 6);
        Assert.Equal(0.0013499, Normal.Cdf(-3), precision: 6);
    }

    [Fact]
    public void Spectral_residual_detects_spikes_within_a_bucket_and_stays_quiet_on_the_normal_parts()
    {
        var spikes = new[] { (150, 40.0), (230, 30.0), (320, 60.0) };
        var results = Run(new SpectralResidualDetector(), Series(400, seed: 3, spikes));

        foreach (var (at, _) in spikes)
        {
            Assert.True(results[at].IsAnomaly || results[at + 1].IsAnomaly, $"spike at {at} not detected (scores {results[at].Score:0.00}, {results[at + 1].Score:0.00})");
        }
        var normal = results.Select((r, i) => (r, i)).Where(x => spikes.All(s => Math.Abs(s.Item1 - x.i) > 2)).ToList();
        var falseAlerts = normal.Count(x => x.r.IsAnomaly);
        Assert.True(falseAlerts <= 4, $"{falseAlerts} false alerts on {normal.Count} normal points");
        Assert.All(results, r => Assert.InRange(r.Score, 0, 1));
    }

    [Fact]
    public void Fourier_transform_round_trips()
    {
        var input = Enumerable.Range(0, 69).Select(i => new System.Numerics.Complex(Math.Sin(i * 0.3) + (i % 7), 0)).ToArray();
        var back = Fourier.Transform(Fourier.Transform(input, inverse: false), inverse: true);
        for (var i = 0; i < input.Length; i++)
        {
            Assert.Equal(input[i].Real, back[i].Real, precision: 9);
            Assert.Equal(0, back[i].Imaginary, precision: 9);
        }
    }
}
