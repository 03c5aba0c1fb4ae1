SELECT size, root_hash, signed_at, key_id, signature FROM audit.checkpoints ORDER BY size DESC LIMIT 1
