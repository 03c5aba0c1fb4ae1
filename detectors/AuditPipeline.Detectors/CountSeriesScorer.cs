namespace AuditPipeline.Detectors;

/// <summary>How one bucket of a count series scored, with what it was compared against.</summary>
public readonly record struct SeriesScore(
    double Observed, double Expected, double Z, double PValue, double SrScore, bool Anomalous, double Score);

/// <summary>
/// Spike detection on a per-minute count series (actions, distinct resources, or any CSV
/// series): deseasonalize with <see cref="SeasonalBaseline"/>, standardize by an
/// overdispersed-Poisson spread √(μ + φμ² + 1) with φ learned per series (noisy agents get a
/// wider band), then require both a magnitude gate (z and absolute excess) and a distribution
/// test on the residuals: the IID kernel-density p-value or the streaming Spectral Residual
/// score. Both tests run on the residual series, so daily and weekly shape does not page.
/// Learning uses values capped at the gate, so an incident does not teach the baseline that
/// it is normal.
/// </summary>
public sealed class CountSeriesScorer
{
    private const int SrWindow = 64;
    private const double PhiAlpha = 0.005;
    private readonly DetectorOptions _options;
    private readonly double _minExcess;
    private readonly SeasonalBaseline _baseline = new();
    private readonly IidSpikeDetector _iid;
    private readonly SpectralResidualDetector _sr;
    private readonly List<double> _residuals = new(SrWindow + 1);
    private readonly EvidenceRing _observed;
    private readonly EvidenceRing _expected;
    private double _phi = 0.25;
    private int _gateStreak;

    public CountSeriesScorer(DetectorOptions options, double? minExcess = null)
    {
        _options = options;
        _minExcess = minExcess ?? options.VolumeMinExcess;
        _iid = new IidSpikeDetector(options.IidHistory, options.IidConfidence);
        _sr = new SpectralResidualDetector(window: SrWindow, threshold: options.SrThreshold);
        _observed = new EvidenceRing(options.EvidenceWindowMinutes);
        _expected = new EvidenceRing(options.EvidenceWindowMinutes);
    }

    public bool IsWarm => _baseline.Minutes >= _options.ColdStartMinutes;

    /// <summary>Scores a value for a minute without learning from it (used again when late events re-score a bucket).</summary>
    public SeriesScore Score(long minute, double value)
    {
        var expected = Math.Max(0, _baseline.Expected(minute));
        var z = (value - expected) / Spread(expected);
        var threshold = _options.VolumeZThreshold * (_baseline.IsSeasonalWarm(minute) ? 1 : _options.ColdSlotGateFactor);
        var gate = IsWarm && z >= threshold && value - expected >= _minExcess;
        double p = 0.5, sr = 0;
        var confirmed = false;
        if (gate)
        {
            // The distribution tests only matter once the gate holds: evaluated lazily, they cost nothing on quiet minutes.
            p = _iid.PValue(z);
            var window = new List<double>(_residuals) { z };
            if (window.Count > SrWindow)
            {
                window.RemoveAt(0);
            }
            sr = window.Count >= 12 ? Math.Clamp(_sr.Score(window), 0, 1) : 0;
            confirmed = (_iid.IsFull && p <= 1 - (_options.IidConfidence / 100)) || sr > _options.SrThreshold;
        }
        var ceiling = value >= _options.AbsoluteCeilingPerMinute;
        var sustained = gate && _gateStreak + 1 >= _options.VolumeSustainedMinutes;
        var anomalous = (gate && (confirmed || sustained)) || ceiling;
        var magnitude = Math.Clamp(z / (2 * _options.VolumeZThreshold), 0, 1);
        var score = anomalous ? Math.Max(Math.Max(magnitude, 0.5 + (0.5 * (1 - p))), Math.Max(sr, ceiling ? 1 : 0)) : Math.Min(magnitude, 0.49);
        return new SeriesScore(value, expected, z, p, sr, anomalous, score);
    }

    /// <summary>Scores the closed bucket, then learns from it (capped at the gate).</summary>
    public SeriesScore Close(long minute, double value)
    {
        var result = Score(minute, value);
        var threshold = _options.VolumeZThreshold * (_baseline.IsSeasonalWarm(minute) ? 1 : _options.ColdSlotGateFactor);
        _gateStreak = IsWarm && result.Z >= threshold && value - result.Expected >= _minExcess ? _gateStreak + 1 : 0;
        Learn(minute, value, result.Expected);
        return result;
    }

    public (IReadOnlyList<double> Observed, IReadOnlyList<double> Expected) Window() => (_observed.ToList(), _expected.ToList());

    private void Learn(long minute, double value, double expected)
    {
        var spread = Spread(expected);
        // The spread learns from values up to twice the gate (noisy agents must widen it); the
        // baseline only from values up to 3 spreads, so a long incident does not become normal.
        var capped = Math.Min(value, expected + (2 * _options.VolumeZThreshold * spread));
        // A sustained deviation is an incident, not noise: it must not widen the spread it is judged by.
        if (IsWarm && expected >= 1 && _gateStreak < _options.VolumeSustainedMinutes)
        {
            var excessVariance = Math.Max(0, ((capped - expected) * (capped - expected)) - expected) / (expected * expected);
            _phi = Math.Clamp(_phi + (PhiAlpha * (excessVariance - _phi)), 0, 4);
        }
        _baseline.Learn(minute, Math.Min(value, expected + (3 * spread)));
        var residual = Math.Min((value - expected) / spread, 2 * _options.VolumeZThreshold);
        _iid.Add(residual);
        _residuals.Add(residual);
        if (_residuals.Count > SrWindow)
        {
            _residuals.RemoveAt(0);
        }
        _observed.Add(value);
        _expected.Add(expected);
    }

    private double Spread(double expected) => Math.Sqrt(expected + (_phi * expected * expected) + 1);
}

/// <summary>The last N values of a series, for alert evidence.</summary>
public sealed class EvidenceRing(int capacity)
{
    private readonly Queue<double> _values = new(capacity);

    public void Add(double value)
    {
        if (_values.Count == capacity)
        {
            _values.Dequeue();
        }
        _values.Enqueue(value);
    }

    public List<double> ToList() => [.. _values];
}
