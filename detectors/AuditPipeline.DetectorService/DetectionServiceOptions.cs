using System.ComponentModel.DataAnnotations;
using AuditPipeline.Contracts;
using AuditPipeline.Kafka;

namespace AuditPipeline.DetectorService;

/// <summary>How the detector process runs (section <c>Detection</c>); detector parameters are in <c>Detectors</c>.</summary>
public sealed class DetectionServiceOptions
{
    public const string Section = "Detection";

    /// <summary>On start, the detectors relearn from this many hours of stored events before the checkpoint.</summary>
    [Range(0, 24 * 90)] public int WarmupHours { get; set; } = 48;

    /// <summary>Open incidents are reloaded from alert events of this many days.</summary>
    [Range(1, 3650)] public int IncidentLookbackDays { get; set; } = 30;

    /// <summary>When caught up and no event arrived for this long, minutes are closed by the wall clock (an agent that stops still has its incident recovered).</summary>
    [Range(1, 3600)] public int IdleAdvanceSeconds { get; set; } = 15;

    [Range(1, 1_000_000)] public int BatchSize { get; set; } = 5000;

    [Range(100, 600_000)] public int MaxRetryDelayMs { get; set; } = 10_000;
}

/// <summary>Where alerts go besides the store (section <c>Alerts</c>).</summary>
public sealed class AlertOptions
{
    public const string Section = "Alerts";

    [Required] public string Topic { get; set; } = Topics.AgentAlerts;

    /// <summary>Set false to not publish to Kafka (webhooks only).</summary>
    public bool PublishToKafka { get; set; } = true;

    public List<WebhookOptions> Webhooks { get; set; } = [];

    /// <summary>Longest wait between delivery attempts; deliveries are retried until they succeed.</summary>
    [Range(100, 3_600_000)] public int MaxRetryDelayMs { get; set; } = 60_000;
}

public enum WebhookFormat { Generic, Slack, PagerDuty }

public sealed class WebhookOptions
{
    /// <summary>Names the delivery checkpoint (alerts-webhook-&lt;name&gt;): lower case letters, digits, '-', '_'.</summary>
    [Required, RegularExpression("^[a-z0-9][a-z0-9_-]{0,40}$", ErrorMessage = "Alerts:Webhooks:Name must be 1–41 of a-z, 0-9, '-', '_'.")]
    public string Name { get; set; } = "";

    /// <summary>The receiver. It may embed a token (Slack's webhook URLs do): it is never logged, only its host.</summary>
    [Required, Url] public string Url { get; set; } = "";

    public WebhookFormat Format { get; set; } = WebhookFormat.Generic;

    /// <summary>PagerDuty Events v2 integration (routing) key; a secret, never logged.</summary>
    public string? RoutingKey { get; set; }

    public AlertSeverity MinSeverity { get; set; } = AlertSeverity.Low;
}
