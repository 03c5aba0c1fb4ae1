-- The next events after a checkpoint, in log order. Safe as a cursor because appends hold the
-- log_head lock until commit: positions are dense and become visible in order.
SELECT global_seq, stream_id, version, event_id, event_type, occurred_at, recorded_at, payload::text, prev_hash, hash
FROM audit.events
WHERE global_seq > @after
  -- rows past the log head were never committed through audit.append_commit: not part of the log
  AND global_seq < (SELECT next_seq FROM audit.log_head)
ORDER BY global_seq
LIMIT @limit
