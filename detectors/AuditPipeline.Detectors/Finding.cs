using AuditPipeline.Contracts;

namespace AuditPipeline.Detectors;

/// <summary>Subjects an incident can be about: one agent's behaviour, its ownership, or an owner's combined budget.</summary>
public enum IncidentGroup { Behaviour, Ownership, OwnerBudget }

/// <summary>One detector's verdict for one bucket: the combiner turns these into incidents.</summary>
public sealed record Finding(
    string AgentId, string? Owner, IncidentGroup Group, string Category, AlertSeverity Severity,
    long Minute, string Headline, AlertEvidence Evidence)
{
    /// <summary>The incident key: one open incident per key.</summary>
    public string SubjectKey => Group switch
    {
        IncidentGroup.OwnerBudget => $"owner-budget|{Owner}",
        IncidentGroup.Ownership => $"ownership|{AgentId}",
        _ => $"agent|{AgentId}",
    };
}
