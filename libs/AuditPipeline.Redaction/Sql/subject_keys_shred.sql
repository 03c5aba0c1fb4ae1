-- Destroys every live key of a subject (schema owner). Returns the shredded key ids.
UPDATE audit.subject_keys
SET wrapped_key = NULL, shredded_at = @at, shredded_by = @by
WHERE subject_ref = @subject_ref AND wrapped_key IS NOT NULL
RETURNING key_id;
