-- Every key a subject ever had, live or shredded.
SELECT key_id, created_at, shredded_at, shredded_by
FROM audit.subject_keys
WHERE subject_ref = @subject_ref
ORDER BY created_at;
