INSERT INTO audit.sealed_months (month, segment, manifest_sha256, events, checkpoint_size, sealed_at, sealed_by)
VALUES (@month, @segment, @manifest_sha256, @events, @checkpoint_size, @sealed_at, @sealed_by)
