-- The live key of each subject (by reference), if it has one.
SELECT subject_ref, key_id, wrapped_key
FROM audit.subject_keys
WHERE subject_ref = ANY(@subject_refs) AND wrapped_key IS NOT NULL;
