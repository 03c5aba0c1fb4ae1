-- Ingest that never stops: what a dropped month leaves behind for duplicate checks, and a record
-- of quarantined messages sent back through ingest. See docs/operations.md "Bad input".

-- A dropped month's payloads are gone from the hot store, but its event ids stay in
-- audit.event_ids. A redelivered or replayed event with such an id is compared with this digest
-- (SHA-256 of the stored canonical bytes, the same bytes the chain hash covers): same digest, a
-- duplicate; different, a conflict. Written in the drop's transaction, by the schema owner.
CREATE TABLE audit.dropped_event_digests (
    event_id        uuid  PRIMARY KEY,
    payload_sha256  bytea NOT NULL CHECK (length(payload_sha256) = 32)
);
CREATE TRIGGER dropped_event_digests_append_only BEFORE UPDATE OR DELETE ON audit.dropped_event_digests
    FOR EACH ROW EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER dropped_event_digests_no_truncate BEFORE TRUNCATE ON audit.dropped_event_digests
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();
GRANT SELECT ON audit.dropped_event_digests TO audit_reader, audit_ingest;

-- `auditctl store quarantine replay` re-publishes a quarantined message's original bytes (same key,
-- same event id, so a message that was stored meanwhile is deduplicated, never doubled) and records
-- it here: who replayed what, when, and where it went.
CREATE TABLE audit.quarantine_replays (
    quarantine_id   bigint      NOT NULL REFERENCES audit.quarantine (id),
    replayed_at     timestamptz NOT NULL,
    replayed_by     text        NOT NULL CHECK (length(replayed_by) BETWEEN 1 AND 256),
    target_topic    text        NOT NULL,
    target_partition integer    NOT NULL,
    target_offset   bigint      NOT NULL,
    PRIMARY KEY (quarantine_id, replayed_at)
);
CREATE TRIGGER quarantine_replays_append_only BEFORE UPDATE OR DELETE ON audit.quarantine_replays
    FOR EACH ROW EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER quarantine_replays_no_truncate BEFORE TRUNCATE ON audit.quarantine_replays
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();
GRANT SELECT ON audit.quarantine_replays TO audit_reader;
GRANT INSERT ON audit.quarantine_replays TO audit_ops;
