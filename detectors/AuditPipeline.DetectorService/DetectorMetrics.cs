using System.Diagnostics.Metrics;
using AuditPipeline.Contracts;

namespace AuditPipeline.DetectorService;

/// <summary>
/// Counters under the meter "AuditPipeline.Detectors" (exported by ServiceDefaults' telemetry; the
/// Grafana dashboard in infra/production reads them): alert changes stored, by change and severity,
/// and delivery retries and failures per sink.
/// </summary>
public static class DetectorMetrics
{
    private static readonly Meter Meter = new("AuditPipeline.Detectors");
    private static readonly Counter<long> Raised = Meter.CreateCounter<long>("auditpipeline.detectors.alerts_raised", description: "Alert changes the detector stored");
    private static readonly Counter<long> Retries = Meter.CreateCounter<long>("auditpipeline.detectors.alert_delivery_retries", description: "Alert deliveries retried");
    private static readonly Counter<long> Failures = Meter.CreateCounter<long>("auditpipeline.detectors.alert_delivery_failures", description: "Alerts a sink refused for good (they stay in the store)");

    public static void AlertStored(AgentAlert alert) =>
        Raised.Add(1, new KeyValuePair<string, object?>("change", WireNames.Of(alert.Change)), new KeyValuePair<string, object?>("severity", WireNames.Of(alert.Severity)));

    public static void DeliveryRetried(string sink) => Retries.Add(1, new KeyValuePair<string, object?>("sink", sink));

    public static void DeliveryFailed(string sink) => Failures.Add(1, new KeyValuePair<string, object?>("sink", sink));
}
