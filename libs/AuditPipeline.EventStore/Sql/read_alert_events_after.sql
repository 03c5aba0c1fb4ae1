-- The next alert events after a position, in log order (partial index events_alerts). As safe
-- a cursor as read_events_after: positions become visible in commit order.
SELECT global_seq, stream_id, version, event_id, event_type, occurred_at, recorded_at, payload::text, prev_hash, hash
FROM audit.events
WHERE event_type = 'agent-alert.v1' AND global_seq > @after
ORDER BY global_seq
LIMIT @limit
