-- Retention (docs/retention.md): months sealed into the archive, and sealed months dropped from
-- the hot store. Both tables only grow; every operation is also a retention.v1 event.

CREATE TABLE audit.sealed_months (
    month            date        PRIMARY KEY CHECK (extract(day FROM month) = 1),
    segment          text        NOT NULL,
    manifest_sha256  bytea       NOT NULL CHECK (length(manifest_sha256) = 32),
    events           bigint      NOT NULL,
    checkpoint_size  bigint      NOT NULL,
    sealed_at        timestamptz NOT NULL,
    sealed_by        text        NOT NULL
);

-- Written by the schema owner in the same transaction that drops the month's partition.
CREATE TABLE audit.dropped_months (
    month            date        PRIMARY KEY REFERENCES audit.sealed_months (month),
    manifest_sha256  bytea       NOT NULL,
    dropped_at       timestamptz NOT NULL,
    dropped_by       text        NOT NULL
);

CREATE TRIGGER sealed_months_append_only BEFORE UPDATE OR DELETE ON audit.sealed_months
    FOR EACH ROW EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER sealed_months_no_truncate BEFORE TRUNCATE ON audit.sealed_months
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER dropped_months_append_only BEFORE UPDATE OR DELETE ON audit.dropped_months
    FOR EACH ROW EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER dropped_months_no_truncate BEFORE TRUNCATE ON audit.dropped_months
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();

GRANT SELECT, INSERT ON audit.sealed_months TO audit_writer;
GRANT SELECT ON audit.sealed_months, audit.dropped_months TO audit_reader, audit_writer;

-- Leaves (chain hashes) of dropped events whose 256-leaf block also holds events that stay: the
-- stored tree keeps whole blocks as nodes, so these are all a root or proof still needs from a
-- dropped month. Written by the owner in the drop's transaction.
CREATE TABLE audit.retained_leaves (
    global_seq  bigint PRIMARY KEY,
    hash        bytea  NOT NULL CHECK (length(hash) = 32)
);
CREATE TRIGGER retained_leaves_append_only BEFORE UPDATE OR DELETE ON audit.retained_leaves
    FOR EACH ROW EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER retained_leaves_no_truncate BEFORE TRUNCATE ON audit.retained_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();
GRANT SELECT ON audit.retained_leaves TO audit_reader, audit_writer;
