using AuditPipeline.EventStore;

namespace AuditPipeline.Redaction;

/// <summary>The SQL owned by redaction: per-subject keys: one property per file in Sql/.</summary>
public static class RedactionSql
{
    public static EmbeddedSql Files { get; } = new(typeof(RedactionSql).Assembly);

    public static string StoredPayloads => Files["redaction_stored_payloads"];
    public static string SubjectKeyInsert => Files["subject_key_insert"];
    public static string SubjectKeyLive => Files["subject_key_live"];
    public static string SubjectKeysById => Files["subject_keys_by_id"];
    public static string SubjectKeysOf => Files["subject_keys_of"];
    public static string SubjectKeysShred => Files["subject_keys_shred"];
}
