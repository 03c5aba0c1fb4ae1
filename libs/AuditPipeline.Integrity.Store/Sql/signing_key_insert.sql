INSERT INTO audit.signing_keys (key_id, public_key_pem, first_used_at)
VALUES (@key_id, @pem, @at)
ON CONFLICT (key_id) DO NOTHING
