-- The next events after a checkpoint, in log order. Safe as a cursor because appends hold the
-- log_head lock until commit: positions are dense and become visible in order.
SELECT global_seq, stream_id, version, event_id, event_type, occurred_at, recorded_at, payload::text, prev_hash, hash
FROM audit.events
WHERE global_seq > @after
ORDER BY global_seq
LIMIT @limit
