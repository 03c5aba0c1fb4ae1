SELECT size, root_hash, signed_at, key_id, signature FROM audit.checkpoints WHERE size = @size
