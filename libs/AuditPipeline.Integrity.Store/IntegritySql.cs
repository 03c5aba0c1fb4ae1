using AuditPipeline.EventStore;

namespace AuditPipeline.Integrity.Store;

/// <summary>The SQL owned by integrity: the stored Merkle tree, checkpoints, signing keys and evidence export: one property per file in Sql/.</summary>
public static class IntegritySql
{
    public static EmbeddedSql Files { get; } = new(typeof(IntegritySql).Assembly);

    public static string CheckpointBySize => Files["checkpoint_by_size"];
    public static string CheckpointInsert => Files["checkpoint_insert"];
    public static string CheckpointLatest => Files["checkpoint_latest"];
    public static string CheckpointList => Files["checkpoint_list"];
    public static string EventPosition => Files["event_position"];
    public static string ExportCount => Files["export_count"];
    public static string ExportEventsPage => Files["export_events_page"];
    public static string MerkleCoveredSize => Files["merkle_covered_size"];
    public static string MerkleInsertNodes => Files["merkle_insert_nodes"];
    public static string MerkleReadLeafRanges => Files["merkle_read_leaf_ranges"];
    public static string MerkleReadLeaves => Files["merkle_read_leaves"];
    public static string MerkleReadNodes => Files["merkle_read_nodes"];
    public static string ReadLogSize => Files["read_log_size"];
    public static string SigningKeyInsert => Files["signing_key_insert"];
    public static string SigningKeysAll => Files["signing_keys_all"];
}
