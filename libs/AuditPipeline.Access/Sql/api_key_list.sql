SELECT key_id, owner, roles, teams, owners, description, created_at, expires_at, revoked_at
FROM audit_admin.api_keys ORDER BY created_at
