INSERT INTO audit.subscription_checkpoints (name, position, updated_at) VALUES (@name, @position, now())
ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at
WHERE audit.subscription_checkpoints.position <= EXCLUDED.position
