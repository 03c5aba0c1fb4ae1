-- A new live key for a subject; a concurrent ingest instance may have made one first, then this is a no-op.
INSERT INTO audit.subject_keys (key_id, subject_ref, wrapped_key, created_at)
VALUES (@key_id, @subject_ref, @wrapped_key, @created_at)
ON CONFLICT (subject_ref) WHERE wrapped_key IS NOT NULL DO NOTHING;
