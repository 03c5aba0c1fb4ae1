using System.ComponentModel.DataAnnotations;

namespace AuditPipeline.EventStore;

public sealed class StoreOptions
{
    public const string Section = "Store";

    /// <summary>Npgsql connection string of the app role (INSERT/SELECT on the store). Never logged.</summary>
    [Required(ErrorMessage = "Store:ConnectionString is required (the event store's PostgreSQL connection string).")]
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// The schema owner's connection string: only auditctl uses it (migrations, projection
    /// rebuilds), never the services. Never logged.
    /// </summary>
    public string? AdminConnectionString { get; set; }

    /// <summary>Largest quarantined message body kept verbatim (the rest is summarized by size and SHA-256).</summary>
    [Range(1024, 1024 * 1024)]
    public int QuarantineMaxRawBytes { get; set; } = 64 * 1024;
}
