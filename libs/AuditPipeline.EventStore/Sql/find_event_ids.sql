-- Stored ids among a batch's, with the digest kept when the id's month was dropped (null while hot,
-- and for months dropped before digests were kept).
SELECT i.event_id, i.global_seq, d.payload_sha256
FROM audit.event_ids i
LEFT JOIN audit.dropped_event_digests d ON d.event_id = i.event_id
WHERE i.event_id = ANY(@ids)
