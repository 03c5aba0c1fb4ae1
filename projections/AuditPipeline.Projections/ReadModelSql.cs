using AuditPipeline.EventStore;

namespace AuditPipeline.Projections;

/// <summary>The SQL owned by the read models (agent inventory, authorizations): one property per file in Sql/.</summary>
public static class ReadModelSql
{
    public static EmbeddedSql Files { get; } = new(typeof(ReadModelSql).Assembly);

    public static string LatestApprovedAction => Files["latest_approved_action"];
    public static string InsertAuthorizations => Files["read_model_insert_authorizations"];
    public static string LockAgents => Files["read_model_lock_agents"];
    public static string Truncate => Files["read_model_truncate"];
    public static string UpsertAgents => Files["read_model_upsert_agents"];
}
