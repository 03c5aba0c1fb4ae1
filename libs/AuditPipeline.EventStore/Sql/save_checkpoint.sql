-- Only forward, and only the role that owns the position (migration 0010) may move it.
INSERT INTO audit.subscription_checkpoints (name, position, updated_at, owner_role) VALUES (@name, @position, now(), current_user)
ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at, owner_role = EXCLUDED.owner_role
WHERE audit.subscription_checkpoints.position <= EXCLUDED.position
