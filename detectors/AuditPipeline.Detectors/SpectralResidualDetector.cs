using System.Numerics;

namespace AuditPipeline.Detectors;

/// <summary>
/// Streaming Spectral Residual (Ren et al., KDD 2019), as described in DETECTORS.md. For each
/// point, on the last <c>window</c> values: extend the end with an estimated next value, take
/// the spectrum, keep only its residual against a moving average of the log amplitude, transform
/// back to a saliency map, and score the current point's saliency against its recent average.
/// Parameters: window 64, look-ahead m 5, averaging q 3, judgement z 21, threshold 0.3.
/// Cold start: points before 12 values have been seen score 0.
/// </summary>
public sealed class SpectralResidualDetector(
    int window = 64, int lookAhead = 5, int averaging = 3, int judgement = 21, double threshold = 0.3) : IStreamingDetector
{
    private const int MinimumPoints = 12;
    private readonly List<double> _recent = new(window + 1);

    public string Name => "sr";

    public Detection Next(double value)
    {
        _recent.Add(value);
        if (_recent.Count > window)
        {
            _recent.RemoveAt(0);
        }
        if (_recent.Count < MinimumPoints)
        {
            return new Detection(value, 0, false);
        }
        var score = Math.Clamp(Score(_recent), 0, 1);
        return new Detection(value, score, score > threshold);
    }

    /// <summary>Score of the last value of <paramref name="values"/> (at least 3 values), unclamped.</summary>
    public double Score(IReadOnlyList<double> values)
    {
        var n = values.Count;
        // 1. Extend the end: estimate the next value from the m + 1 values before the current one.
        var m = Math.Min(lookAhead, n - 2);
        var before = values.Skip(n - 1 - (m + 1)).Take(m + 1).ToArray();
        var last = before[^1];
        var estimate = before[1];
        for (var i = 0; i < m; i++)
        {
            estimate += (last - before[i]) / (m - i);
        }
        var series = new Complex[n + lookAhead];
        for (var i = 0; i < n; i++)
        {
            series[i] = values[i];
        }
        for (var i = n; i < series.Length; i++)
        {
            series[i] = estimate;
        }

        // 2–4. Spectrum, log amplitude, residual against its causal moving average, phase kept.
        var spectrum = Fourier.Transform(series, inverse: false);
        var logAmplitude = spectrum.Select(f => f.Magnitude > 0 ? Math.Log(f.Magnitude) : 0).ToArray();
        var averaged = MovingAverage(logAmplitude, averaging);
        for (var i = 0; i < spectrum.Length; i++)
        {
            var amplitude = spectrum[i].Magnitude;
            spectrum[i] = amplitude > 0 ? spectrum[i] * (Math.Exp(logAmplitude[i] - averaged[i]) / amplitude) : Complex.Zero;
        }

        // 5. Back to the time domain: the saliency map.
        var saliency = Fourier.Transform(spectrum, inverse: true).Select(c => c.Magnitude).ToArray();

        // 6. The current point (the last real one, before the extension) against its recent average.
        var t = n - 1;
        var recentAverage = MovingAverage(saliency[..n], judgement)[t];
        return Math.Abs(saliency[t] - recentAverage) / Math.Max(recentAverage, 1e-8) / 10;
    }

    /// <summary>Causal moving average: the first k &lt; q points average what exists.</summary>
    private static double[] MovingAverage(double[] values, int q)
    {
        var result = new double[values.Length];
        double sum = 0;
        for (var i = 0; i < values.Length; i++)
        {
            sum += values[i];
            if (i >= q)
            {
                sum -= values[i - q];
            }
            result[i] = sum / Math.Min(i + 1, q);
        }
        return result;
    }
}

/// <summary>Discrete Fourier transform for the short windows the detectors use (O(n²), n ≈ 70).</summary>
public static class Fourier
{
    public static Complex[] Transform(Complex[] input, bool inverse)
    {
        var n = input.Length;
        var output = new Complex[n];
        var sign = inverse ? 1.0 : -1.0;
        for (var k = 0; k < n; k++)
        {
            var sum = Complex.Zero;
            for (var t = 0; t < n; t++)
            {
                var angle = sign * 2 * Math.PI * k * t / n;
                sum += input[t] * new Complex(Math.Cos(angle), Math.Sin(angle));
            }
            output[k] = inverse ? sum / n : sum;
        }
        return output;
    }
}
