-- Rebuilds only: start a subscription over from the beginning of the log.
INSERT INTO audit.subscription_checkpoints (name, position, updated_at) VALUES (@name, 0, now())
ON CONFLICT (name) DO UPDATE SET position = 0, updated_at = now()
