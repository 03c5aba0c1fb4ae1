-- The earliest event recorded between the last sealed month and the month to seal: if there is
-- one, an earlier month must be sealed first (months are sealed in order).
SELECT min(recorded_at) FROM audit.events WHERE recorded_at >= @after AND recorded_at < @from
