namespace AuditPipeline.Detectors;

public enum Side { Positive, Negative, TwoSided }

/// <summary>
/// IID spike detector (kernel-density p-value), as described in DETECTORS.md: the upper-tail
/// probability of a new value under a Gaussian kernel density over the last <c>history</c>
/// values. Alerts once the buffer is full and p ≤ 1 − confidence/100.
/// Parameters: history 100, confidence 99, side positive (spikes up: what on-call pages for).
/// </summary>
public sealed class IidSpikeDetector(int history = 100, double confidence = 99, Side side = Side.Positive) : IStreamingDetector
{
    private readonly Queue<double> _buffer = new(history);
    private double _sum;
    private double _sumOfSquares;

    public string Name => "iid";

    public Detection Next(double value)
    {
        var p = PValue(value);
        var full = _buffer.Count >= history;
        Add(value);
        // Score: how far into the alerting tail the point is (1 − p), in [0, 1].
        return new Detection(value, 1 - p, full && p <= 1 - (confidence / 100));
    }

    /// <summary>True once <c>history</c> values are buffered (alerts need a full buffer).</summary>
    public bool IsFull => _buffer.Count >= history;

    /// <summary>The p-value of <paramref name="x"/> against the buffer, without adding it.</summary>
    public double PValue(double x)
    {
        var n = _buffer.Count;
        if (n == 0)
        {
            return 0.5;
        }
        // S = Σ_{i<j} (rᵢ − rⱼ)² = n·Σr² − (Σr)², kept from running sums.
        var pairwise = Math.Max(0, (n * _sumOfSquares) - (_sum * _sum));
        var sigma = n == 1 ? 1.0 : Math.Sqrt(pairwise) / n;
        sigma = Math.Max(sigma, 1e-6 / Math.Sqrt(2));
        double upper = 0;
        foreach (var r in _buffer)
        {
            upper += 1 - Normal.Cdf((x - r) / sigma);
        }
        upper /= n;
        var p = side switch
        {
            Side.Positive => upper,
            Side.Negative => 1 - upper,
            _ => Math.Min(upper, 1 - upper),
        };
        return Math.Clamp(p, 1e-8, 1 - 1e-8);
    }

    public void Add(double value)
    {
        if (_buffer.Count >= history)
        {
            var old = _buffer.Dequeue();
            _sum -= old;
            _sumOfSquares -= old * old;
        }
        _buffer.Enqueue(value);
        _sum += value;
        _sumOfSquares += value * value;
    }
}
