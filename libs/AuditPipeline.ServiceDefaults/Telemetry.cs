using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AuditPipeline.ServiceDefaults;

/// <summary>
/// OpenTelemetry for every service, the same way: our meters and activity sources
/// (<c>AuditPipeline.*</c>), Npgsql, HttpClient and, in the API, ASP.NET Core; exported over OTLP
/// when configured and scraped by Prometheus.
/// </summary>
public static class Telemetry
{
    /// <summary>Every meter and activity source of ours is named under this prefix.</summary>
    public const string Prefix = "AuditPipeline.";

    public static void Add(IHostApplicationBuilder builder, string serviceName, bool web)
    {
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        var otlp = options.OtlpEndpoint is { Length: > 0 } endpoint ? new Uri(endpoint)
            : builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 } standard ? new Uri(standard) : null;
        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName, serviceNamespace: "auditpipeline"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(Prefix + "*").AddNpgsqlInstrumentation().AddHttpClientInstrumentation();
                if (web)
                {
                    metrics.AddAspNetCoreInstrumentation().AddPrometheusExporter();
                }
                else if (options.PrometheusPort > 0)
                {
                    metrics.AddPrometheusHttpListener(l =>
                    {
                        l.Host = options.PrometheusHost;
                        l.Port = options.PrometheusPort;
                    });
                }
                if (otlp is not null)
                {
                    metrics.AddOtlpExporter(o => o.Endpoint = otlp);
                }
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource(Prefix + "*").AddNpgsql().AddHttpClientInstrumentation();
                if (web)
                {
                    tracing.AddAspNetCoreInstrumentation();
                }
                if (otlp is not null)
                {
                    tracing.AddOtlpExporter(o => o.Endpoint = otlp);
                }
            });
    }
}
