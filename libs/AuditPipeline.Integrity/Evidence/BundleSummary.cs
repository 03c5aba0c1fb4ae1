using System.Globalization;
using System.Net;
using System.Text;
using AuditPipeline.Contracts;

namespace AuditPipeline.Integrity.Evidence;

/// <summary>
/// The human-readable part of a bundle, folded while the events stream past: per agent, per owner,
/// and every alert incident with who acknowledged or resolved it. Memory grows with the number of
/// agents and incidents, not events.
/// </summary>
public sealed class BundleSummary
{
    private readonly Dictionary<string, AgentRow> _agents = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, AlertRow> _alerts = [];
    private readonly Dictionary<string, long> _eventTypes = new(StringComparer.Ordinal);

    public long Events { get; private set; }

    public void AddAction(AgentActionOccurred e)
    {
        if (!_agents.TryGetValue(e.Agent.Id, out var row))
        {
            _agents[e.Agent.Id] = row = new AgentRow(e.Agent.Id);
        }
        row.Name = e.Agent.Name;
        row.Owner = e.Agent.Owner;
        row.Team = e.Agent.Team;
        row.Actions++;
        switch (e.Authorization.Decision)
        {
            case Decision.Deny:
                row.Denied++;
                break;
            case Decision.Allow when e.Authorization.Approvals.Count > 0:
                row.Approved++;
                break;
        }
        row.CostMicros += (long)Math.Round((e.Usage?.CostUsd ?? 0m) * 1_000_000m);
        row.First = row.First is { } f && f < e.OccurredAt ? f : e.OccurredAt;
        row.Last = row.Last is { } l && l > e.OccurredAt ? l : e.OccurredAt;
    }

    public void AddAlert(AgentAlert a)
    {
        if (!_alerts.TryGetValue(a.IncidentId, out var row))
        {
            _alerts[a.IncidentId] = row = new AlertRow(a.IncidentId, a.AgentId);
        }
        row.Title = a.Title;
        row.Severity = a.Severity > row.Severity ? a.Severity : row.Severity;
        row.Last = a.Change;
        switch (a.Change)
        {
            case AlertChange.Opened:
                row.OpenedAt = a.At;
                break;
            case AlertChange.Acknowledged:
                row.AcknowledgedBy = a.Actor;
                row.AcknowledgedAt = a.At;
                break;
            case AlertChange.Resolved:
                row.ResolvedBy = a.Actor;
                row.ResolvedAt = a.At;
                break;
            case AlertChange.Recovered:
                row.RecoveredAt = a.At;
                break;
        }
    }

    public void CountEvent(string eventType)
    {
        Events++;
        _eventTypes[eventType] = _eventTypes.GetValueOrDefault(eventType) + 1;
    }

    public string AgentsCsv()
    {
        var csv = new StringBuilder("agent_id,name,owner,team,actions,denied,approved,cost_usd,first_action,last_action\n");
        foreach (var a in _agents.Values.OrderBy(a => a.Id, StringComparer.Ordinal))
        {
            Row(csv, a.Id, a.Name, a.Owner ?? "", a.Team ?? "", Num(a.Actions), Num(a.Denied), Num(a.Approved), Money(a.CostMicros), Time(a.First), Time(a.Last));
        }
        return csv.ToString();
    }

    public string OwnersCsv()
    {
        var csv = new StringBuilder("owner,agents,actions,denied,approved,cost_usd\n");
        foreach (var o in Owners())
        {
            Row(csv, o.Owner, Num(o.Agents), Num(o.Actions), Num(o.Denied), Num(o.Approved), Money(o.CostMicros));
        }
        return csv.ToString();
    }

    public string AlertsCsv()
    {
        var csv = new StringBuilder("incident_id,agent_id,severity,title,opened_at,acknowledged_by,acknowledged_at,resolved_by,resolved_at,recovered_at,last_change\n");
        foreach (var a in AlertsInOrder())
        {
            Row(csv, a.Id.ToString(), a.AgentId, WireNames.Of(a.Severity), a.Title, Time(a.OpenedAt), a.AcknowledgedBy ?? "", Time(a.AcknowledgedAt),
                a.ResolvedBy ?? "", Time(a.ResolvedAt), Time(a.RecoveredAt), WireNames.Of(a.Last));
        }
        return csv.ToString();
    }

    public string Html(BundleManifest manifest)
    {
        static string E(string? s) => WebUtility.HtmlEncode(s ?? "");
        var h = new StringBuilder();
        h.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>AuditPipeline evidence bundle</title>")
         .Append("<style>body{font:14px system-ui,sans-serif;margin:2rem;color:#111}table{border-collapse:collapse;margin:1rem 0}")
         .Append("th,td{border:1px solid #999;padding:.25rem .5rem;text-align:left}th{background:#eee}td.n{text-align:right}code{font-size:12px}</style></head><body>")
         .Append("<h1>Evidence bundle</h1><p>Events recorded from <b>").Append(E(Time(manifest.From))).Append("</b> to <b>").Append(E(Time(manifest.To)))
         .Append("</b> (UTC, end exclusive)");
        if (manifest.Agents.Count > 0)
        {
            h.Append(", agents ").Append(E(string.Join(", ", manifest.Agents)));
        }
        if (manifest.Owners.Count > 0)
        {
            h.Append(", owners ").Append(E(string.Join(", ", manifest.Owners)));
        }
        h.Append(".</p><p>").Append(Num(manifest.EventCount)).Append(" events, proven included in the log of ")
         .Append(Num(manifest.Checkpoint.Size)).Append(" events whose root <code>").Append(E(manifest.Checkpoint.RootHash))
         .Append("</code> is signed by key <code>").Append(E(manifest.Checkpoint.KeyId)).Append("</code>. Verify offline with <code>auditctl verify-bundle &lt;this folder&gt; --trusted-key &lt;the public key your organisation publishes&gt;</code>, not with the key in this folder.</p>");
        h.Append("<h2>Event types</h2><table><tr><th scope=\"col\">type</th><th scope=\"col\">events</th></tr>");
        foreach (var (type, count) in _eventTypes.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            h.Append("<tr><td>").Append(E(type)).Append("</td><td class=\"n\">").Append(Num(count)).Append("</td></tr>");
        }
        h.Append("</table><h2>Owners</h2><table><tr><th scope=\"col\">owner</th><th scope=\"col\">agents</th><th scope=\"col\">actions</th><th scope=\"col\">denied</th><th scope=\"col\">approved</th><th scope=\"col\">cost (USD)</th></tr>");
        foreach (var o in Owners())
        {
            h.Append("<tr><td>").Append(E(o.Owner)).Append("</td><td class=\"n\">").Append(Num(o.Agents)).Append("</td><td class=\"n\">").Append(Num(o.Actions))
             .Append("</td><td class=\"n\">").Append(Num(o.Denied)).Append("</td><td class=\"n\">").Append(Num(o.Approved)).Append("</td><td class=\"n\">").Append(Money(o.CostMicros)).Append("</td></tr>");
        }
        h.Append("</table><h2>Agents</h2><table><tr><th scope=\"col\">agent</th><th scope=\"col\">owner</th><th scope=\"col\">actions</th><th scope=\"col\">denied</th><th scope=\"col\">approved</th><th scope=\"col\">cost (USD)</th></tr>");
        foreach (var a in _agents.Values.OrderByDescending(a => a.Actions).ThenBy(a => a.Id, StringComparer.Ordinal))
        {
            h.Append("<tr><td>").Append(E(a.Id)).Append("</td><td>").Append(a.Owner is null ? "<b>none</b>" : E(a.Owner)).Append("</td><td class=\"n\">").Append(Num(a.Actions))
             .Append("</td><td class=\"n\">").Append(Num(a.Denied)).Append("</td><td class=\"n\">").Append(Num(a.Approved)).Append("</td><td class=\"n\">").Append(Money(a.CostMicros)).Append("</td></tr>");
        }
        h.Append("</table><h2>Alerts</h2><table><tr><th scope=\"col\">incident</th><th scope=\"col\">agent</th><th scope=\"col\">severity</th><th scope=\"col\">title</th><th scope=\"col\">opened</th><th scope=\"col\">acknowledged</th><th scope=\"col\">resolved</th><th scope=\"col\">last change</th></tr>");
        foreach (var a in AlertsInOrder())
        {
            h.Append("<tr><td><code>").Append(a.Id).Append("</code></td><td>").Append(E(a.AgentId)).Append("</td><td>").Append(WireNames.Of(a.Severity)).Append("</td><td>").Append(E(a.Title))
             .Append("</td><td>").Append(E(Time(a.OpenedAt))).Append("</td><td>").Append(a.AcknowledgedBy is null ? "" : E($"{a.AcknowledgedBy} at {Time(a.AcknowledgedAt)}"))
             .Append("</td><td>").Append(a.ResolvedBy is null ? "" : E($"{a.ResolvedBy} at {Time(a.ResolvedAt)}")).Append("</td><td>").Append(WireNames.Of(a.Last)).Append("</td></tr>");
        }
        h.Append("</table></body></html>\n");
        return h.ToString();
    }

    private IEnumerable<AlertRow> AlertsInOrder() => _alerts.Values.OrderBy(a => a.OpenedAt ?? DateTimeOffset.MaxValue).ThenBy(a => a.Id);

    private List<OwnerRow> Owners() => _agents.Values
        .GroupBy(a => a.Owner ?? "(none)", StringComparer.Ordinal)
        .Select(g => new OwnerRow(g.Key, g.Count(), g.Sum(a => a.Actions), g.Sum(a => a.Denied), g.Sum(a => a.Approved), g.Sum(a => a.CostMicros)))
        .OrderBy(o => o.Owner, StringComparer.Ordinal)
        .ToList();

    private static string Num(long n) => n.ToString(CultureInfo.InvariantCulture);
    private static string Money(long micros) => (micros / 1_000_000m).ToString("0.000000", CultureInfo.InvariantCulture);
    private static string Time(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "";

    /// <summary>RFC 4180 quoting; a leading = + - @ is defused so a spreadsheet never runs a cell as a formula.</summary>
    public static string CsvField(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }
        return value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    private static void Row(StringBuilder csv, params string[] fields) => csv.AppendJoin(',', fields.Select(CsvField)).Append('\n');

    private sealed class AgentRow(string id)
    {
        public string Id { get; } = id;
        public string Name { get; set; } = "";
        public string? Owner { get; set; }
        public string? Team { get; set; }
        public long Actions { get; set; }
        public long Denied { get; set; }
        public long Approved { get; set; }
        public long CostMicros { get; set; }
        public DateTimeOffset? First { get; set; }
        public DateTimeOffset? Last { get; set; }
    }

    private sealed record OwnerRow(string Owner, int Agents, long Actions, long Denied, long Approved, long CostMicros);

    private sealed class AlertRow(Guid id, string agentId)
    {
        public Guid Id { get; } = id;
        public string AgentId { get; } = agentId;
        public string Title { get; set; } = "";
        public AlertSeverity Severity { get; set; }
        public AlertChange Last { get; set; }
        public DateTimeOffset? OpenedAt { get; set; }
        public string? AcknowledgedBy { get; set; }
        public DateTimeOffset? AcknowledgedAt { get; set; }
        public string? ResolvedBy { get; set; }
        public DateTimeOffset? ResolvedAt { get; set; }
        public DateTimeOffset? RecoveredAt { get; set; }
    }
}
