INSERT INTO audit.checkpoints (size, root_hash, signed_at, key_id, signature, created_by)
VALUES (@size, @root, @signed_at, @key_id, @signature, @created_by)
ON CONFLICT (size) DO NOTHING
