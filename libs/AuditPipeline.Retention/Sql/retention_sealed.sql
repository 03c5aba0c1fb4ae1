SELECT s.month, s.segment, s.manifest_sha256, s.events, s.checkpoint_size, s.sealed_at, s.sealed_by, d.dropped_at
FROM audit.sealed_months s
LEFT JOIN audit.dropped_months d ON d.month = s.month
ORDER BY s.month
