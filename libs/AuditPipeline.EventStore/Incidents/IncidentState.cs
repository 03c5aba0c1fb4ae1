using AuditPipeline.Contracts;

namespace AuditPipeline.EventStore;

/// <summary>
/// An incident folded from its alert changes: the one fold every reader uses (the API, auditctl,
/// the incidents read model). It always folds the incident's whole stream, so there is no look-back
/// to disagree about; <see cref="Version"/> is the stream version it reflects, which a person's
/// change must expect.
/// </summary>
public sealed record IncidentState(
    AgentAlert Opened, AgentAlert Latest, AlertSeverity Severity, bool Open, string? AcknowledgedBy, IReadOnlyList<AgentAlert> Changes, long Version)
{
    /// <summary>Folds changes in stream order; <paramref name="version"/> defaults to their count (a stream from its start).</summary>
    public static IncidentState From(IReadOnlyList<AgentAlert> changes, long? version = null)
    {
        var opened = changes.FirstOrDefault(c => c.Change == AlertChange.Opened) ?? changes[0];
        var detectorChanges = changes.Where(c => c.Change is AlertChange.Opened or AlertChange.Escalated).ToList();
        var latest = changes[^1];
        return new IncidentState(
            opened,
            latest,
            detectorChanges.Count == 0 ? opened.Severity : detectorChanges.Max(c => c.Severity),
            !changes.Any(c => c.Change is AlertChange.Recovered or AlertChange.Resolved),
            changes.LastOrDefault(c => c.Change == AlertChange.Acknowledged)?.Actor,
            changes,
            version ?? changes.Count);
    }

    public Guid IncidentId => Opened.IncidentId;

    /// <summary>open, acknowledged (still open), or the change that closed it (recovered, resolved).</summary>
    public string Status => Open ? AcknowledgedBy is null ? "open" : "acknowledged" : WireNames.Of(Latest.Change);

    /// <summary>Why a person may not make this change now, or null when they may (the one validation of a person's change).</summary>
    public string? Refusal(AlertChange change) =>
        change is not (AlertChange.Acknowledged or AlertChange.Resolved) ? $"a person can only acknowledge or resolve, not {WireNames.Of(change)}"
        : !Open ? $"incident {IncidentId} is already {WireNames.Of(Latest.Change)}"
        : null;

    /// <summary>A person's acknowledge or resolve, as the alert event to append (check <see cref="Refusal"/> first).</summary>
    public AgentAlert PersonChange(AlertChange change, string actor, string? note, DateTimeOffset at) => Latest with
    {
        EventId = Guid.CreateVersion7(at),
        Change = change,
        Actor = actor,
        Note = note,
        At = at,
        Summary = $"{WireNames.Of(change)} by {actor}{(string.IsNullOrWhiteSpace(note) ? "" : $": {note}")}",
        Evidence = [],
    };

    /// <summary>The state after appending <paramref name="change"/> at the next version.</summary>
    public IncidentState With(AgentAlert change) => From([.. Changes, change], Version + 1);
}
