using AuditPipeline.EventStore;

namespace AuditPipeline.Retention;

/// <summary>The SQL owned by retention: sealed and dropped months, legal holds: one property per file in Sql/.</summary>
public static class RetentionSql
{
    public static EmbeddedSql Files { get; } = new(typeof(RetentionSql).Assembly);

    public static string ArchiveNextLink => Files["archive_next_link"];
    public static string LegalHoldInsert => Files["legal_hold_insert"];
    public static string LegalHoldRelease => Files["legal_hold_release"];
    public static string LegalHoldsActive => Files["legal_holds_active"];
    public static string HotMonths => Files["retention_hot_months"];
    public static string InsertDropped => Files["retention_insert_dropped"];
    public static string InsertSealed => Files["retention_insert_sealed"];
    public static string KeepDigests => Files["retention_keep_digests"];
    public static string LaggingSubscriptions => Files["retention_lagging_subscriptions"];
    public static string MonthCount => Files["retention_month_count"];
    public static string MonthHasAgents => Files["retention_month_has_agents"];
    public static string MonthPositions => Files["retention_month_positions"];
    public static string RetainLeaves => Files["retention_retain_leaves"];
    public static string Sealed => Files["retention_sealed"];
    public static string UnsealedBefore => Files["retention_unsealed_before"];
}
