-- Recorded in the drop's transaction, before the partition goes: the month's place in the log.
INSERT INTO audit.dropped_months (month, manifest_sha256, dropped_at, dropped_by, first_seq, last_seq, events)
SELECT @month, @manifest_sha256, @dropped_at, @dropped_by, min(global_seq), max(global_seq), count(*)
FROM audit.events WHERE recorded_at >= @from AND recorded_at < @to
