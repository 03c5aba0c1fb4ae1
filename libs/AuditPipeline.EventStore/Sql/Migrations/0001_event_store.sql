-- Event store v1: append-only, hash-chained per agent, monthly partitions.
-- Applied by `auditctl db migrate` as the schema owner. See docs/event-store.md.

CREATE SCHEMA IF NOT EXISTS audit;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'audit_writer') THEN
        CREATE ROLE audit_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'audit_reader') THEN
        CREATE ROLE audit_reader NOLOGIN;
    END IF;
END $$;

-- One row: the next global position. Appends lock it for their whole transaction, so
-- positions are dense (a rolled-back append returns its range) and commit in order: a
-- reader that has seen position N can never later find a committed event below N.
CREATE TABLE audit.log_head (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    next_seq   bigint  NOT NULL CHECK (next_seq >= 1)
);
INSERT INTO audit.log_head (singleton, next_seq) VALUES (true, 1);

-- The events. payload holds the exact canonical bytes that were hashed (json keeps text
-- verbatim; jsonb would rewrite it). hash = SHA-256(prev_hash || chain record), see
-- docs/event-store.md "Hash chain".
CREATE TABLE audit.events (
    global_seq   bigint      NOT NULL,
    stream_id    text        NOT NULL,
    version      bigint      NOT NULL CHECK (version >= 1),
    event_id     uuid        NOT NULL,
    event_type   text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL,
    payload      json        NOT NULL,
    prev_hash    bytea       NOT NULL CHECK (length(prev_hash) = 32),
    hash         bytea       NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (global_seq, recorded_at)
) PARTITION BY RANGE (recorded_at);

CREATE INDEX events_stream_version ON audit.events (stream_id, version);

-- Unique constraints on a partitioned table must include the partition key, so global
-- uniqueness lives in unpartitioned tables written in the same transaction:
-- event ids here, (stream, version) through the compare-and-set on stream_heads.
CREATE TABLE audit.event_ids (
    event_id    uuid   PRIMARY KEY,
    global_seq  bigint NOT NULL
);

-- Each agent's chain head, also the compare-and-set that keeps (stream, version) unique
-- across partitions and the anchor that makes truncating a chain's tail detectable.
CREATE TABLE audit.stream_heads (
    stream_id   text        PRIMARY KEY,
    version     bigint      NOT NULL CHECK (version >= 1),
    hash        bytea       NOT NULL CHECK (length(hash) = 32),
    global_seq  bigint      NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- Messages that could not be stored, with the reason. Unique per source position and
-- reason so a redelivered reject is recorded once.
CREATE TABLE audit.quarantine (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    quarantined_at   timestamptz NOT NULL,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    reason_code      text        NOT NULL,
    reason           text        NOT NULL,
    event_id         uuid,
    message_key      bytea,
    raw_size         integer     NOT NULL,
    raw_sha256       bytea       NOT NULL,
    raw_truncated    boolean     NOT NULL,
    raw              bytea       NOT NULL,
    UNIQUE (source_topic, source_partition, source_offset, reason_code)
);

-- Append-only by construction: rows can be inserted, never changed or removed.
CREATE FUNCTION audit.reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit.%: % is not allowed, the event store is append-only', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON audit.events
    FOR EACH ROW EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON audit.events
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER event_ids_append_only BEFORE UPDATE OR DELETE ON audit.event_ids
    FOR EACH ROW EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER event_ids_no_truncate BEFORE TRUNCATE ON audit.event_ids
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER quarantine_append_only BEFORE UPDATE OR DELETE ON audit.quarantine
    FOR EACH ROW EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER quarantine_no_truncate BEFORE TRUNCATE ON audit.quarantine
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();
-- Heads move forward only; deleting one would hide a truncated chain.
CREATE FUNCTION audit.heads_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.version <= OLD.version OR NEW.stream_id <> OLD.stream_id THEN
        RAISE EXCEPTION 'audit.stream_heads: heads only move forward' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER stream_heads_forward_only BEFORE UPDATE OR DELETE ON audit.stream_heads
    FOR EACH ROW EXECUTE FUNCTION audit.heads_forward_only();
CREATE TRIGGER stream_heads_no_truncate BEFORE TRUNCATE ON audit.stream_heads
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();
CREATE FUNCTION audit.log_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.next_seq < OLD.next_seq THEN
        RAISE EXCEPTION 'audit.log_head: the log only grows' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER log_head_forward_only BEFORE UPDATE OR DELETE ON audit.log_head
    FOR EACH ROW EXECUTE FUNCTION audit.log_head_forward_only();

-- Monthly partitions, created ahead of time. TRUNCATE triggers are not inherited by
-- partitions, so each partition gets its own. SECURITY DEFINER so the writer role can
-- make sure the month it writes into exists without owning the table.
CREATE FUNCTION audit.ensure_partitions(from_time timestamptz, months_ahead integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
DECLARE
    month_start date := date_trunc('month', from_time AT TIME ZONE 'UTC')::date;
    part_name   text;
    created     integer := 0;
BEGIN
    IF months_ahead < 0 OR months_ahead > 24 THEN
        RAISE EXCEPTION 'months_ahead must be between 0 and 24';
    END IF;
    FOR i IN 0..months_ahead LOOP
        part_name := format('events_%s', to_char(month_start + make_interval(months => i), 'YYYY_MM'));
        IF to_regclass('audit.' || part_name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE audit.%I PARTITION OF audit.events FOR VALUES FROM (%L) TO (%L)',
                part_name,
                (month_start + make_interval(months => i))::timestamp AT TIME ZONE 'UTC',
                (month_start + make_interval(months => i + 1))::timestamp AT TIME ZONE 'UTC');
            EXECUTE format(
                'CREATE TRIGGER no_truncate BEFORE TRUNCATE ON audit.%I FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation()',
                part_name);
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;

SELECT audit.ensure_partitions(now() - interval '1 month', 4);

REVOKE ALL ON ALL TABLES IN SCHEMA audit FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.ensure_partitions(timestamptz, integer) FROM PUBLIC;
GRANT USAGE ON SCHEMA audit TO audit_writer, audit_reader;
GRANT SELECT, INSERT ON audit.events, audit.event_ids, audit.quarantine TO audit_writer;
GRANT SELECT, INSERT, UPDATE ON audit.stream_heads, audit.log_head TO audit_writer;
GRANT EXECUTE ON FUNCTION audit.ensure_partitions(timestamptz, integer) TO audit_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA audit TO audit_reader;
