-- Keys by id for reading redacted fields; a NULL wrapped_key means the subject was shredded.
SELECT key_id, wrapped_key, shredded_at
FROM audit.subject_keys
WHERE key_id = ANY(@key_ids);
