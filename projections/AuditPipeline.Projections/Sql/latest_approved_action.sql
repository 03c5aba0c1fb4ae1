SELECT event_id FROM audit_read.authorizations
WHERE json_array_length(payload->'authorization'->'approvals') > 0
ORDER BY global_seq DESC
LIMIT 1
