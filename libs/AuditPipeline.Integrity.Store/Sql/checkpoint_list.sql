-- Newest first, below a size (the cursor) for paging.
SELECT size, root_hash, signed_at, key_id, signature
FROM audit.checkpoints
WHERE size < @before
ORDER BY size DESC
LIMIT @limit
