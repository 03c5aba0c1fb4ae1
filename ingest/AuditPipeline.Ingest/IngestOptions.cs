using System.ComponentModel.DataAnnotations;
using AuditPipeline.Kafka;

namespace AuditPipeline.Ingest;

public sealed class IngestOptions
{
    public const string Section = "Ingest";

    [Required] public string Topic { get; set; } = Topics.AgentActions;
    [Required] public string DeadLetterTopic { get; set; } = Topics.AgentActionsDeadLetter;
    [Required] public string GroupId { get; set; } = "audit-ingest";

    /// <summary>Events per store transaction. Larger batches amortize the transaction; 5,000 measured best here.</summary>
    [Range(1, 100_000)] public int BatchSize { get; set; } = 5000;

    /// <summary>Longest a partial batch waits for more messages before it is written.</summary>
    [Range(1, 60_000)] public int BatchMaxWaitMs { get; set; } = 100;

    /// <summary>How long the group waits for a silent member before reassigning its partitions.</summary>
    [Range(1000, 300_000)] public int SessionTimeoutMs { get; set; } = 10_000;

    /// <summary>Cap of the exponential backoff while PostgreSQL or Kafka is unavailable.</summary>
    [Range(100, 600_000)] public int MaxRetryDelayMs { get; set; } = 5_000;

    /// <summary>
    /// Attempts at a dead-letter copy while the topic is unavailable. After them (or at once, for an
    /// error that will not change) the copy is skipped: the quarantine row is already stored.
    /// </summary>
    [Range(1, 1000)] public int DeadLetterMaxAttempts { get; set; } = 10;

    /// <summary>Time given to in-flight batches at shutdown before they are left for redelivery.</summary>
    [Range(0, 600_000)] public int ShutdownDrainMs { get; set; } = 15_000;
}
