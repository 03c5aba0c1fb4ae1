-- Every event of the selected chains in chain order; @from/@to bound recorded_at.
SELECT stream_id, version, global_seq, event_id, event_type, recorded_at, payload::text, prev_hash, hash
FROM audit.events
WHERE (@stream::text IS NULL OR stream_id = @stream)
  AND recorded_at >= @from AND recorded_at < @to
ORDER BY stream_id, version
