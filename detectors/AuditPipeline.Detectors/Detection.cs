namespace AuditPipeline.Detectors;

/// <summary>One scored point: the score is in [0, 1]; higher is more anomalous.</summary>
public readonly record struct Detection(double Value, double Score, bool IsAnomaly);

/// <summary>A streaming detector over one series: feed points in time order, one result per point.</summary>
public interface IStreamingDetector
{
    string Name { get; }
    Detection Next(double value);
}
