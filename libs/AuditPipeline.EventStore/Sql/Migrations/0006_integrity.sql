-- Integrity (docs/integrity.md): the Merkle tree over the whole log and signed checkpoints.
-- The leaf of the event at global_seq p (leaf index p - 1) is
--   SHA-256(0x00 || "AUDITPIPELINE-LEAF-V1" || p as 8 bytes big-endian || chain hash).
-- The tree projection stores the perfect subtrees of 256 leaves and more, so a root or a proof
-- never needs more than 255 leaves re-read from the events per node below that level.

CREATE TABLE audit.merkle_nodes (
    level  smallint NOT NULL CHECK (level BETWEEN 8 AND 62),
    idx    bigint   NOT NULL CHECK (idx >= 0),
    hash   bytea    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

-- Every public key that ever signed a checkpoint, so rotation keeps old checkpoints verifiable.
CREATE TABLE audit.signing_keys (
    key_id          text        PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    public_key_pem  text        NOT NULL,
    first_used_at   timestamptz NOT NULL
);

-- Signed tree heads. One per log size: two signers racing at the same size keep the first.
CREATE TABLE audit.checkpoints (
    size        bigint      PRIMARY KEY CHECK (size >= 0),
    root_hash   bytea       NOT NULL CHECK (length(root_hash) = 32),
    signed_at   timestamptz NOT NULL,
    key_id      text        NOT NULL REFERENCES audit.signing_keys (key_id),
    signature   text        NOT NULL,
    created_by  text        NOT NULL
);

CREATE TRIGGER merkle_nodes_append_only BEFORE UPDATE OR DELETE ON audit.merkle_nodes
    FOR EACH ROW EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER merkle_nodes_no_truncate BEFORE TRUNCATE ON audit.merkle_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER signing_keys_append_only BEFORE UPDATE OR DELETE ON audit.signing_keys
    FOR EACH ROW EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER signing_keys_no_truncate BEFORE TRUNCATE ON audit.signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON audit.checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON audit.checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();

GRANT SELECT, INSERT ON audit.merkle_nodes, audit.signing_keys, audit.checkpoints TO audit_writer;
GRANT SELECT ON audit.merkle_nodes, audit.signing_keys, audit.checkpoints TO audit_reader;
