-- One page of quarantined messages to send back through ingest, oldest first (keyset on id).
-- A message replayed before is left out unless @again. Truncated rows are returned too, so the
-- command can say which it will not send and why.
SELECT q.id, q.reason_code, q.event_id, q.message_key, q.raw, q.raw_size, q.raw_sha256, q.raw_truncated,
       (SELECT count(*) FROM audit.quarantine_replays r WHERE r.quarantine_id = q.id) AS replays
FROM audit.quarantine q
WHERE q.id > @after
  AND (@reason::text IS NULL OR q.reason_code = @reason::text)
  AND (cardinality(@ids::bigint[]) = 0 OR q.id = ANY (@ids::bigint[]))
  AND (@since::timestamptz IS NULL OR q.quarantined_at >= @since::timestamptz)
  AND (@again OR NOT EXISTS (SELECT 1 FROM audit.quarantine_replays r WHERE r.quarantine_id = q.id))
ORDER BY q.id
LIMIT @page
