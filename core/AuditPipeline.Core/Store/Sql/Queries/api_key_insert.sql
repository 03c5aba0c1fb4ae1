INSERT INTO audit_admin.api_keys (key_id, salt, secret_hash, owner, roles, teams, owners, description, created_at, expires_at)
VALUES (@id, @salt, @hash, @owner, @roles, @teams, @owners, @description, @created, @expires)
