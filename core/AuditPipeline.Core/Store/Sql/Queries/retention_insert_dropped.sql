INSERT INTO audit.dropped_months (month, manifest_sha256, dropped_at, dropped_by)
VALUES (@month, @manifest_sha256, @dropped_at, @dropped_by)
