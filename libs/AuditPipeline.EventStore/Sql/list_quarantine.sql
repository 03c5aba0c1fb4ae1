SELECT quarantined_at, source_topic, source_partition, source_offset, reason_code, reason, id
FROM audit.quarantine
ORDER BY id DESC
LIMIT @limit
