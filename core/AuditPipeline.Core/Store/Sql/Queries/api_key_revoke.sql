UPDATE audit_admin.api_keys SET revoked_at = @now WHERE key_id = @id AND revoked_at IS NULL
