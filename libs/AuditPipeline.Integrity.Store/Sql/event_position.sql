-- Where an event is in the log, its chain and its chain hash (for inclusion proofs).
SELECT e.global_seq, e.hash, e.stream_id
FROM audit.event_ids i
JOIN audit.events e ON e.global_seq = i.global_seq
WHERE i.event_id = @event_id
