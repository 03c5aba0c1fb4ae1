-- The alert streams of the incidents a projected batch touched, each from its start up to the
-- batch's last position (so the fold is exactly the store as of the projector's checkpoint).
SELECT stream_id, version, global_seq, recorded_at, payload::text AS payload
FROM audit.events
WHERE stream_id = ANY(@streams) AND global_seq <= @upto
ORDER BY stream_id, version
