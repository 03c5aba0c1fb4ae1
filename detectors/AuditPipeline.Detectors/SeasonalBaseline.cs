namespace AuditPipeline.Detectors;

/// <summary>
/// The expected value of a per-minute series at a given minute: a mean per hour of day, kept
/// separately for weekdays and weekends, interpolated between neighbouring hours so the morning
/// ramp is followed within the hour. Each hour's mean averages that hour over about the last
/// three days it was seen. Before the first weekend's hours have history, a weekend minute uses
/// the weekday hour scaled by how weekend traffic has compared with weekdays so far. Cold start:
/// a minute with neither falls back to a short-term level (exponentially weighted, half-life
/// 30 minutes), and the scorers raise their gates for it.
/// </summary>
public sealed class SeasonalBaseline
{
    private const int WarmSlotMinutes = 60;
    private const int SlotMemoryMinutes = 180;
    private static readonly double LevelAlpha = 1 - Math.Exp(-Math.Log(2) / 30);

    private readonly double[] _mean = new double[48];
    private readonly int[] _samples = new int[48];
    private double _level;
    private long _weekendMinutes;
    private double _weekendObserved;
    private double _weekendWeekday;

    /// <summary>Minutes of history learned so far.</summary>
    public long Minutes { get; private set; }

    /// <summary>True when the minute has a seasonal expectation (otherwise <see cref="Expected"/> is the short-term level).</summary>
    public bool IsSeasonalWarm(long minute) => Seasonal(minute).Warm;

    public double Expected(long minute)
    {
        var (value, warm) = Seasonal(minute);
        return warm ? value : _level;
    }

    public void Learn(long minute, double value)
    {
        var weekend = global::AuditPipeline.Detectors.Minutes.IsWeekend(minute);
        if (weekend && Interpolated(weekend: false, minute) is { } weekday)
        {
            // How weekends compare with weekdays: covers the first weekend, before its own hours have history.
            _weekendObserved += (value - _weekendObserved) / Math.Min(++_weekendMinutes, SlotMemoryMinutes);
            _weekendWeekday += (weekday - _weekendWeekday) / Math.Min(_weekendMinutes, SlotMemoryMinutes);
        }
        var index = Index(weekend, global::AuditPipeline.Detectors.Minutes.MinuteOfDay(minute) / 60);
        var n = Math.Min(_samples[index] + 1, SlotMemoryMinutes);
        _mean[index] += (value - _mean[index]) / n;
        _samples[index]++;
        _level = Minutes == 0 ? value : _level + (LevelAlpha * (value - _level));
        Minutes++;
    }

    private (double Value, bool Warm) Seasonal(long minute)
    {
        var weekend = global::AuditPipeline.Detectors.Minutes.IsWeekend(minute);
        if (Interpolated(weekend, minute) is { } own)
        {
            return (own, true);
        }
        if (weekend && _weekendMinutes >= WarmSlotMinutes && _weekendWeekday > 0 && Interpolated(weekend: false, minute) is { } weekday)
        {
            return (weekday * (_weekendObserved / _weekendWeekday), true);
        }
        return (0, false);
    }

    /// <summary>The hour mean, interpolated towards the neighbouring hour (hour means sit at the middle of their hour); null when cold.</summary>
    private double? Interpolated(bool weekend, long minute)
    {
        var minuteOfDay = global::AuditPipeline.Detectors.Minutes.MinuteOfDay(minute);
        var hour = minuteOfDay / 60;
        if (!IsWarm(weekend, hour))
        {
            return null;
        }
        var position = ((minuteOfDay % 60) + 0.5) / 60 - 0.5;
        var neighbour = (hour + (position < 0 ? 23 : 1)) % 24;
        if (!IsWarm(weekend, neighbour))
        {
            return Slot(weekend, hour);
        }
        var w = Math.Abs(position);
        return ((1 - w) * Slot(weekend, hour)) + (w * Slot(weekend, neighbour));
    }

    private bool IsWarm(bool weekend, int hour) => _samples[Index(weekend, hour)] >= WarmSlotMinutes;

    private double Slot(bool weekend, int hour) => _mean[Index(weekend, hour)];

    private static int Index(bool weekend, int hour) => (weekend ? 24 : 0) + hour;
}
