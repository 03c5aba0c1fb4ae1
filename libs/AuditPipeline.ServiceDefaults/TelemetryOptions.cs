using System.ComponentModel.DataAnnotations;

namespace AuditPipeline.ServiceDefaults;

/// <summary>
/// Where metrics and traces go. OTLP export is on when <see cref="OtlpEndpoint"/> (or the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>) is set; a Prometheus scrape endpoint is served by the query API
/// at <c>/metrics</c> (admin role) and, by a worker, on <see cref="PrometheusPort"/> when set.
/// </summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>OTLP collector (e.g. http://otel-collector:4317); empty: no OTLP export.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>Port a worker serves Prometheus text on (<c>/metrics</c>); 0: none.</summary>
    [Range(0, 65535)]
    public int PrometheusPort { get; set; }

    /// <summary>Address that port listens on: loopback by default, so metrics leave the host only where an operator opens them.</summary>
    public string PrometheusHost { get; set; } = "127.0.0.1";
}
