using System.Text.Json;
using System.Text.Json.Nodes;
using AuditPipeline.Contracts;

namespace AuditPipeline.DetectorService;

/// <summary>Request bodies in the shapes Slack incoming webhooks and PagerDuty Events v2 accept.</summary>
public static class WebhookPayloads
{
    /// <summary>Slack: a <c>text</c> fallback plus one section block in mrkdwn.</summary>
    public static byte[] Slack(AgentAlert alert)
    {
        var text = $"[{WireNames.Of(alert.Severity).ToUpperInvariant()}] {WireNames.Of(alert.Change)}: {alert.Title}";
        var detail = $"*{Escape(text)}*\n{Escape(alert.Summary)}\nagent `{Escape(alert.AgentId)}`, owner {Escape(alert.Owner ?? "none")}, incident `{alert.IncidentId}`";
        var body = new JsonObject
        {
            ["text"] = text,
            ["blocks"] = new JsonArray(new JsonObject
            {
                ["type"] = "section",
                ["text"] = new JsonObject { ["type"] = "mrkdwn", ["text"] = detail },
            }),
        };
        return JsonSerializer.SerializeToUtf8Bytes(body);
    }

    /// <summary>
    /// PagerDuty Events v2: opened/escalated trigger (same dedup_key updates the incident),
    /// acknowledged acknowledges, recovered/resolved resolve.
    /// </summary>
    public static byte[] PagerDuty(AgentAlert alert, string routingKey)
    {
        var action = alert.Change switch
        {
            AlertChange.Acknowledged => "acknowledge",
            AlertChange.Recovered or AlertChange.Resolved => "resolve",
            _ => "trigger",
        };
        var body = new JsonObject
        {
            ["routing_key"] = routingKey,
            ["event_action"] = action,
            ["dedup_key"] = alert.IncidentId.ToString(),
        };
        if (action == "trigger")
        {
            body["payload"] = new JsonObject
            {
                ["summary"] = Truncate(alert.Title, 1024),
                ["source"] = alert.AgentId,
                ["severity"] = alert.Severity switch
                {
                    AlertSeverity.Critical => "critical",
                    AlertSeverity.High => "error",
                    AlertSeverity.Medium => "warning",
                    _ => "info",
                },
                ["timestamp"] = alert.At.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                ["component"] = "agent",
                ["group"] = alert.Owner ?? "unowned",
                ["class"] = string.Join(",", alert.Categories),
                ["custom_details"] = new JsonObject
                {
                    ["summary"] = alert.Summary,
                    ["incident_id"] = alert.IncidentId.ToString(),
                    ["alert_event_id"] = alert.EventId.ToString(),
                    ["detectors"] = new JsonArray([.. alert.Evidence.Select(e => (JsonNode?)JsonValue.Create(e.Detector))]),
                },
            };
        }
        return JsonSerializer.SerializeToUtf8Bytes(body);
    }

    /// <summary>Slack mrkdwn treats &amp;, &lt; and &gt; as control characters.</summary>
    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal)
        .Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}
