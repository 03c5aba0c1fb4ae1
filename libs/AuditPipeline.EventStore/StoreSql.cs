namespace AuditPipeline.EventStore;

/// <summary>The SQL owned by the event store: events, stream heads, quarantine, subscriptions' checkpoints: one property per file in Sql/.</summary>
public static class StoreSql
{
    public static EmbeddedSql Files { get; } = new(typeof(StoreSql).Assembly);

    public static string AppendCommit => Files["append_commit"];
    public static string CopyEventIds => Files["copy_event_ids"];
    public static string CopyEvents => Files["copy_events"];
    public static string DroppedEventsBetween => Files["dropped_events_between"];
    public static string EnsurePartitions => Files["ensure_partitions"];
    public static string FindEventIds => Files["find_event_ids"];
    public static string FindPositionBefore => Files["find_position_before"];
    public static string IncidentsList => Files["incidents_list"];
    public static string IncidentsReadStreams => Files["incidents_read_streams"];
    public static string IncidentsUpsert => Files["incidents_upsert"];
    public static string InsertQuarantine => Files["insert_quarantine"];
    public static string ListQuarantine => Files["list_quarantine"];
    public static string LockLogHead => Files["lock_log_head"];
    public static string QuarantineNewestId => Files["quarantine_newest_id"];
    public static string QuarantineReplayCandidates => Files["quarantine_replay_candidates"];
    public static string ReadAlertEvents => Files["read_alert_events"];
    public static string ReadAlertEventsAfter => Files["read_alert_events_after"];
    public static string ReadAllStreamHeads => Files["read_all_stream_heads"];
    public static string ReadChain => Files["read_chain"];
    public static string ReadChainAnchor => Files["read_chain_anchor"];
    public static string ReadCheckpoint => Files["read_checkpoint"];
    public static string ReadEventsAfter => Files["read_events_after"];
    public static string ReadPayloadsBySeq => Files["read_payloads_by_seq"];
    public static string ReadStream => Files["read_stream"];
    public static string ReadStreamHeads => Files["read_stream_heads"];
    public static string ReadSubscriptionLag => Files["read_subscription_lag"];
    public static string RecordQuarantineReplay => Files["record_quarantine_replay"];
    public static string ResetCheckpoint => Files["reset_checkpoint"];
    public static string SaveCheckpoint => Files["save_checkpoint"];
    public static string StoreStats => Files["store_stats"];
    public static string SubscriptionLockConnection => Files["subscription_lock_connection"];
    public static string SubscriptionLockProbe => Files["subscription_lock_probe"];
    public static string SubscriptionTryLock => Files["subscription_try_lock"];
    public static string SubscriptionUnlock => Files["subscription_unlock"];
}
