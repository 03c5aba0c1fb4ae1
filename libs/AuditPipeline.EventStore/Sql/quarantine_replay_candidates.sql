-- One page of quarantined messages to send back through ingest, oldest first (keyset on id), up to
-- the newest row when the replay began (@until): copies this replay sends and ingest refuses again
-- come after it. A row that is itself a refused replayed copy is left out (its original is the one
-- to replay), and so is a row replayed before unless @again. Truncated rows are returned too, so
-- the command can say which it will not send and why.
SELECT q.id, q.reason_code, q.event_id, q.message_key, q.raw, q.raw_size, q.raw_sha256, q.raw_truncated,
       (SELECT count(*) FROM audit.quarantine_replays r WHERE r.quarantine_id = q.id) AS replays
FROM audit.quarantine q
WHERE q.id > @after AND q.id <= @until
  AND (@reason::text IS NULL OR q.reason_code = @reason::text)
  AND (cardinality(@ids::bigint[]) = 0 OR q.id = ANY (@ids::bigint[]))
  AND (@since::timestamptz IS NULL OR q.quarantined_at >= @since::timestamptz)
  AND (@again OR NOT EXISTS (SELECT 1 FROM audit.quarantine_replays r WHERE r.quarantine_id = q.id))
  AND NOT EXISTS (SELECT 1 FROM audit.quarantine_replays c
                  WHERE c.target_topic = q.source_topic AND c.target_partition = q.source_partition AND c.target_offset = q.source_offset)
ORDER BY q.id
LIMIT @page
