namespace AuditPipeline.Soak;

/// <summary>What the end-of-soak checks found. Every list is empty and every exit code 0 in a good run.</summary>
public sealed record SoakFindings
{
    /// <summary>Acknowledged by the broker, not in the store.</summary>
    public required IReadOnlyList<Guid> Lost { get; init; }

    /// <summary>In the store more than once.</summary>
    public required IReadOnlyList<Guid> Duplicated { get; init; }

    /// <summary>Stored though their delivery report was a failure (allowed: a timed-out produce may still have landed).</summary>
    public required int StoredUnacknowledged { get; init; }

    public required (int ExitCode, string Output) ChainVerify { get; init; }
    public required (int ExitCode, string Output) CheckpointVerify { get; init; }
    public required long LatestCheckpointSize { get; init; }
    public required long LastActionPosition { get; init; }

    public required IReadOnlyList<string> ClickHouseMismatches { get; init; }
    public required IReadOnlyList<string> ReadModelMismatches { get; init; }

    /// <summary>Injected agents without exactly one incident opened once, and incidents of agents nobody injected.</summary>
    public required IReadOnlyList<string> IncidentProblems { get; init; }

    /// <summary>Distinct incidents opened in the whole run.</summary>
    public required int IncidentsRaised { get; init; }

    public required IReadOnlyList<string> ApiProblems { get; init; }
    public required IReadOnlyList<string> UnexpectedExits { get; init; }

    /// <summary>What had not caught up when the drain timed out (null: everything did).</summary>
    public required string? DrainBehind { get; init; }

    /// <summary>Every problem in words (empty: the soak passed).</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (DrainBehind is not null)
        {
            problems.Add($"did not drain: {DrainBehind}");
        }
        if (Lost.Count > 0)
        {
            problems.Add($"{Lost.Count} acknowledged events lost, e.g. {string.Join(", ", Lost.Take(5))}");
        }
        if (Duplicated.Count > 0)
        {
            problems.Add($"{Duplicated.Count} events stored more than once, e.g. {string.Join(", ", Duplicated.Take(5))}");
        }
        if (ChainVerify.ExitCode != 0)
        {
            problems.Add($"auditctl verify exited {ChainVerify.ExitCode}: {ChainVerify.Output}");
        }
        if (CheckpointVerify.ExitCode != 0)
        {
            problems.Add($"auditctl checkpoint verify exited {CheckpointVerify.ExitCode}: {CheckpointVerify.Output}");
        }
        if (LatestCheckpointSize < LastActionPosition)
        {
            problems.Add($"the latest signed checkpoint covers {LatestCheckpointSize} log positions, the last action is at {LastActionPosition}");
        }
        problems.AddRange(ClickHouseMismatches.Select(m => "ClickHouse: " + m));
        problems.AddRange(ReadModelMismatches.Select(m => "read models: " + m));
        problems.AddRange(IncidentProblems.Select(m => "incidents: " + m));
        problems.AddRange(ApiProblems.Select(m => "query API: " + m));
        problems.AddRange(UnexpectedExits);
        return problems;
    }
}
