-- Where an event is in the log and its chain hash (for inclusion proofs).
SELECT e.global_seq, e.hash
FROM audit.event_ids i
JOIN audit.events e ON e.global_seq = i.global_seq
WHERE i.event_id = @event_id
