-- Revokes an active key and appends its api-key.v1 event (migration 0010); false: no such active key.
SELECT audit_admin.revoke_api_key(@event_id, @payload)
