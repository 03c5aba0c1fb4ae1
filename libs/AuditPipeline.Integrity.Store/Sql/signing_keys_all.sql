SELECT key_id, public_key_pem FROM audit.signing_keys ORDER BY first_used_at
