using System.Security.Cryptography;
using System.Text;
using AuditPipeline.Contracts;

namespace AuditPipeline.Detectors;

/// <summary>
/// Turns findings into incidents: one open incident per subject (an agent's behaviour, an
/// agent's ownership, an owner's budget). The first finding opens it; a higher severity or a new
/// detector group escalates it; IncidentQuietMinutes without findings recover it. Everything
/// else a runaway agent triggers while the incident lasts is folded in, so on-call gets one
/// alert, updated, instead of one per minute. Ids are derived from the incident and the change,
/// so replaying the same events after a crash yields the same alert ids (the store drops them).
/// A finding about a minute up to a subject's last recovery belongs to the incident that recovered
/// (the minute was judged with it): it opens nothing. That keeps one incident when a restarted
/// process is handed minutes its predecessor closed by the idle clock before their events arrived.
/// </summary>
public sealed class IncidentCombiner(DetectorOptions options)
{
    private readonly Dictionary<string, Incident> _open = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _suppressedUntil = new(StringComparer.Ordinal);

    public int OpenIncidents => _open.Count;

    public void OnFindings(List<Finding> findings, List<AgentAlert> output)
    {
        foreach (var group in findings.GroupBy(f => f.SubjectKey, StringComparer.Ordinal))
        {
            var list = group.ToList();
            var minute = list.Max(f => f.Minute);
            if (_suppressedUntil.TryGetValue(group.Key, out var until) && minute < until)
            {
                continue;
            }
            var top = list.MaxBy(f => f.Severity)!;
            if (!_open.TryGetValue(group.Key, out var incident))
            {
                var start = list.Min(f => f.Minute);
                incident = new Incident(DeterministicId($"incident|{group.Key}|{start}"), group.Key, top.AgentId,
                    top.Owner, top.Group == IncidentGroup.OwnerBudget ? top.Owner : null, start)
                {
                    Severity = top.Severity,
                    Title = $"{Subject(top)}: {top.Headline}",
                };
                Merge(incident, list);
                _open[group.Key] = incident;
                output.Add(incident.ToAlert(AlertChange.Opened, DeterministicId($"alert|{incident.Id}|opened"), minute, list));
                continue;
            }
            var before = (incident.Severity, incident.Categories.Count);
            Merge(incident, list);
            if (top.Severity > incident.Severity)
            {
                incident.Severity = top.Severity;
                incident.Title = $"{Subject(top)}: {top.Headline}";
            }
            if (incident.Severity > before.Severity || incident.Categories.Count > before.Count)
            {
                var change = $"alert|{incident.Id}|escalated|{WireNames.Of(incident.Severity)}|{string.Join(',', incident.Categories)}";
                output.Add(incident.ToAlert(AlertChange.Escalated, DeterministicId(change), minute, list));
            }
        }
    }

    /// <summary>Recovers the given subjects' incidents if they have been quiet for IncidentQuietMinutes by the end of this minute.</summary>
    public void RecoverQuiet(IEnumerable<string> keys, long minute, List<AgentAlert> output)
    {
        foreach (var key in keys)
        {
            if (_open.TryGetValue(key, out var incident) && minute - incident.LastFindingMinute >= options.IncidentQuietMinutes)
            {
                _open.Remove(key);
                SuppressThrough(key, minute);
                output.Add(incident.ToAlert(AlertChange.Recovered, DeterministicId($"alert|{incident.Id}|recovered"), minute, []));
            }
        }
    }

    /// <summary>The incident keys about one agent (its behaviour and its ownership).</summary>
    public static string[] AgentKeys(string agentId) => [$"agent|{agentId}", $"ownership|{agentId}"];

    public static string OwnerBudgetKey(string owner) => $"owner-budget|{owner}";

    /// <summary>
    /// Applies an alert event read back from the store: seeds incidents after a restart, and
    /// takes a person's acknowledge or resolve into account (a resolved subject stays quiet for
    /// ResolveSuppressionMinutes).
    /// </summary>
    public void Apply(AgentAlert alert)
    {
        var key = KeyOf(alert);
        var minute = Minutes.Of(alert.At);
        _open.TryGetValue(key, out var incident);
        if (incident is not null && incident.Id != alert.IncidentId)
        {
            return; // about an older incident of the same subject
        }
        switch (alert.Change)
        {
            case AlertChange.Opened or AlertChange.Escalated:
                if (incident is null)
                {
                    incident = new Incident(alert.IncidentId, key, alert.AgentId, alert.Owner, alert.SubjectOwner, Minutes.Of(alert.StartedAt))
                    {
                        Severity = alert.Severity,
                        Title = alert.Title,
                    };
                    _open[key] = incident;
                }
                incident.Severity = (AlertSeverity)Math.Max((int)incident.Severity, (int)alert.Severity);
                incident.Categories.UnionWith(alert.Categories);
                incident.LastFindingMinute = Math.Max(incident.LastFindingMinute, minute - 1);
                break;
            case AlertChange.Acknowledged:
                incident?.AcknowledgedBy = alert.Actor;
                break;
            case AlertChange.Recovered:
                _open.Remove(key);
                SuppressThrough(key, minute - 1); // At is the start of the minute after the one that recovered it
                break;
            case AlertChange.Resolved:
                if (incident is not null)
                {
                    _open.Remove(key);
                    _suppressedUntil[key] = Math.Max(minute, incident.LastFindingMinute) + options.ResolveSuppressionMinutes;
                }
                break;
        }
    }

    public static Guid DeterministicId(string text)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8 (custom), RFC 9562
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // variant
        return new Guid(hash[..16], bigEndian: true);
    }

    /// <summary>Findings about minutes up to <paramref name="minute"/> open no incident of this subject.</summary>
    private void SuppressThrough(string key, long minute) =>
        _suppressedUntil[key] = Math.Max(_suppressedUntil.GetValueOrDefault(key, long.MinValue), minute + 1);

    private static string KeyOf(AgentAlert alert) =>
        alert.SubjectOwner is not null ? $"owner-budget|{alert.SubjectOwner}"
        : alert.Categories.Contains("ownership") ? $"ownership|{alert.AgentId}"
        : $"agent|{alert.AgentId}";

    private static string Subject(Finding f) => f.Group == IncidentGroup.OwnerBudget ? $"owner {f.Owner}" : f.AgentId;

    private static void Merge(Incident incident, List<Finding> findings)
    {
        foreach (var f in findings)
        {
            incident.Categories.Add(f.Category);
            incident.LastFindingMinute = Math.Max(incident.LastFindingMinute, f.Minute);
            incident.Owner ??= f.Owner;
        }
    }

    private sealed class Incident(Guid id, string key, string agentId, string? owner, string? subjectOwner, long startMinute)
    {
        public Guid Id { get; } = id;
        public string Key { get; } = key;
        public string AgentId { get; } = agentId;
        public string? Owner { get; set; } = owner;
        public string? SubjectOwner { get; } = subjectOwner;
        public long StartMinute { get; } = startMinute;
        public long LastFindingMinute { get; set; } = startMinute;
        public AlertSeverity Severity { get; set; }
        public SortedSet<string> Categories { get; } = new(StringComparer.Ordinal);
        public string Title { get; set; } = "";
        public string? AcknowledgedBy { get; set; }

        public AgentAlert ToAlert(AlertChange change, Guid eventId, long minute, List<Finding> findings) => new()
        {
            EventId = eventId,
            IncidentId = Id,
            Change = change,
            AgentId = AgentId,
            Owner = Owner,
            SubjectOwner = SubjectOwner,
            Severity = Severity,
            Categories = [.. Categories],
            Title = Title,
            Summary = change == AlertChange.Recovered
                ? $"No findings for the last {minute - LastFindingMinute} minutes; the incident lasted {LastFindingMinute - StartMinute + 1} minutes."
                : string.Join("; ", findings.OrderByDescending(f => f.Severity).Select(f => f.Headline).Distinct()),
            StartedAt = Minutes.Start(StartMinute),
            At = Minutes.Start(minute + 1),
            Evidence = [.. findings.Select(f => f.Evidence)],
        };
    }
}
