-- Crypto-shredding (docs/redaction.md): one AES key per data subject, wrapped under the master
-- key. Redacted payload fields are encrypted under it at ingest; shredding a subject sets its
-- wrapped keys to NULL, so the ciphertext in every event, archive and bundle becomes unreadable
-- while the stored bytes (and so every chain hash and Merkle proof) stay exactly as they were.
-- subject_ref is an HMAC of the subject's name, so a shredded row names no one.
CREATE TABLE audit.subject_keys (
    key_id       uuid        PRIMARY KEY,
    subject_ref  bytea       NOT NULL CHECK (length(subject_ref) = 32),
    wrapped_key  bytea       CHECK (wrapped_key IS NULL OR length(wrapped_key) = 92),
    created_at   timestamptz NOT NULL,
    shredded_at  timestamptz,
    shredded_by  text,
    CHECK ((wrapped_key IS NULL) = (shredded_at IS NOT NULL))
);
-- One live key per subject; after a shred, new events get a new key.
CREATE UNIQUE INDEX subject_keys_live ON audit.subject_keys (subject_ref) WHERE wrapped_key IS NOT NULL;

-- A key can only be shredded, once: never restored, re-pointed or deleted (the row is the record
-- that the key existed and when it was destroyed).
CREATE FUNCTION audit.subject_keys_shred_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.wrapped_key IS NULL OR NEW.wrapped_key IS NOT NULL
       OR NEW.key_id <> OLD.key_id OR NEW.subject_ref <> OLD.subject_ref OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'audit.subject_keys: a key can only be shredded' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER subject_keys_shred_only BEFORE UPDATE OR DELETE ON audit.subject_keys
    FOR EACH ROW EXECUTE FUNCTION audit.subject_keys_shred_only();
CREATE TRIGGER subject_keys_no_truncate BEFORE TRUNCATE ON audit.subject_keys
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();

-- Ingest creates keys; readers unwrap them. Shredding takes the schema owner (auditctl subject shred).
GRANT SELECT, INSERT ON audit.subject_keys TO audit_writer;
GRANT SELECT ON audit.subject_keys TO audit_reader;
