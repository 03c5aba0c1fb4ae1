-- The live key of each subject (by reference), if it has one, and whether it was shredded before.
SELECT k.subject_ref, k.key_id, k.wrapped_key,
       EXISTS (SELECT 1 FROM audit.subject_keys s WHERE s.subject_ref = k.subject_ref AND s.wrapped_key IS NULL) AS has_shredded
FROM audit.subject_keys k
WHERE k.subject_ref = ANY(@subject_refs) AND k.wrapped_key IS NOT NULL;
