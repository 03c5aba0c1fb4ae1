-- Before a month's partition is dropped: keep the leaves of its events that share a 256-leaf block
-- with events outside it (whole blocks live on as stored tree nodes). Run as the owner.
INSERT INTO audit.retained_leaves (global_seq, hash)
SELECT e.global_seq, e.hash
FROM audit.events e
WHERE e.recorded_at >= @from AND e.recorded_at < @to
  AND (e.global_seq - 1) / 256 IN (
      SELECT (global_seq - 1) / 256 FROM audit.events
      WHERE recorded_at >= @from AND recorded_at < @to
      GROUP BY 1 HAVING count(*) < 256)
ON CONFLICT (global_seq) DO NOTHING
