-- One stream from its start, in version order (index events_stream_version).
SELECT version, global_seq, event_type, recorded_at, payload::text AS payload
FROM audit.events
WHERE stream_id = @stream
ORDER BY version
