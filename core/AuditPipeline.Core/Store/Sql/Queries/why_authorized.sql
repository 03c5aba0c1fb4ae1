SELECT a.global_seq, a.agent_id, a.version, a.recorded_at, a.payload::text, a.prev_hash, a.hash,
       e.payload::text AS stored_payload, e.event_type, e.prev_hash AS stored_prev_hash, e.hash AS stored_hash,
       (SELECT p.hash FROM audit.events p WHERE p.stream_id = a.agent_id AND p.version = a.version - 1) AS previous_event_hash
FROM audit_read.authorizations a
LEFT JOIN audit.events e ON e.global_seq = a.global_seq
WHERE a.event_id = @event_id
