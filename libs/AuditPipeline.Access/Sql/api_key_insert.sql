-- The row is taken from the api-key.v1 payload and the event appended in the same call (migration 0010).
SELECT audit_admin.create_api_key(@event_id, @payload, @salt, @hash)
