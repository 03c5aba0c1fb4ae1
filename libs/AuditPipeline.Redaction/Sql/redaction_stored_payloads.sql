-- The stored payloads of events that arrive again (redeliveries), for redaction's duplicate check.
SELECT i.event_id, e.payload::text
FROM audit.event_ids i
JOIN audit.events e ON e.global_seq = i.global_seq
WHERE i.event_id = ANY(@ids)
