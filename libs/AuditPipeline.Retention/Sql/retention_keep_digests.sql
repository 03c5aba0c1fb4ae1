-- Before a month's partition is dropped: keep the digest of each event's stored bytes, so ingest can
-- still tell a redelivered copy (same bytes) from a conflicting one. Run as the owner.
INSERT INTO audit.dropped_event_digests (event_id, payload_sha256)
SELECT e.event_id, sha256(convert_to(e.payload::text, 'UTF8'))
FROM audit.events e
WHERE e.recorded_at >= @from AND e.recorded_at < @to
ON CONFLICT (event_id) DO NOTHING
