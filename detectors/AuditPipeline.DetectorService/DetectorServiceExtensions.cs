using AuditPipeline.EventStore;
using AuditPipeline.Kafka;
using AuditPipeline.Detectors;
using AuditPipeline.ServiceDefaults;
using AuditPipeline.Subscriptions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.DetectorService;

public static class DetectorServiceExtensions
{
    public static IHostApplicationBuilder AddDetectorService(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDefaults("detectors");
        var services = builder.Services;
        services.AddOptions<DetectorOptions>().BindConfiguration(DetectorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DetectionServiceOptions>().BindConfiguration(DetectionServiceOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<AlertOptions>().BindConfiguration(AlertOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.Webhooks.Select(w => w.Name).Distinct().Count() == o.Webhooks.Count, "Alerts:Webhooks names must be unique.")
            .Validate(o => o.Webhooks.All(w => w.Format != WebhookFormat.PagerDuty || !string.IsNullOrWhiteSpace(w.RoutingKey)),
                "Alerts:Webhooks: a PagerDuty webhook needs its RoutingKey.")
            .ValidateOnStart();
        services.AddSingleton<AlertLog>();
        services.AddSingleton(_ => new HttpClient { Timeout = TimeSpan.FromSeconds(10) });
        services.AddSingleton<IEnumerable<IAlertSink>>(sp =>
        {
            var alerts = sp.GetRequiredService<IOptions<AlertOptions>>().Value;
            var sinks = new List<IAlertSink>();
            if (alerts.PublishToKafka)
            {
                sinks.Add(new KafkaAlertSink(sp.GetRequiredService<IOptions<KafkaOptions>>().Value, alerts));
            }
            var http = sp.GetRequiredService<HttpClient>();
            sinks.AddRange(alerts.Webhooks.Select(w => new WebhookAlertSink(http, w)));
            return sinks;
        });
        // Detection and every alert sink are subscriptions of the process's one host.
        services.AddSubscriptionSource<DetectionWorker>();
        services.AddSubscriptionSource<AlertDispatchWorker>();
        services.AddSubscriptionHost();
        return builder;
    }
}
