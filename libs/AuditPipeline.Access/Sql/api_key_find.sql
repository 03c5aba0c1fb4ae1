SELECT salt, secret_hash, owner, roles, teams, owners, description, created_at, expires_at, revoked_at
FROM audit_admin.api_keys WHERE key_id = @id
