-- Least privilege (docs/integrity.md "Trust model"). One role per service, each with only the
-- writes it needs; the log head, the chain heads, API keys and each agent's scope move only
-- through functions owned by the schema owner (SECURITY DEFINER) that check what they are asked
-- to do. No service role may UPDATE, DELETE or TRUNCATE anything in schema audit except its own
-- subscription checkpoints. Login roles are made by the deployment (infra/up, the manifests) and
-- granted exactly one of these.

DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['audit_ingest', 'audit_projector', 'audit_detector', 'audit_api', 'audit_ops'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END $$;

-- The one shared write role of earlier versions keeps nothing: a stolen credential of one service
-- must not be a credential of all of them.
REVOKE ALL ON ALL TABLES IN SCHEMA audit, audit_read, audit_admin FROM audit_writer;
REVOKE EXECUTE ON FUNCTION audit.ensure_partitions(timestamptz, integer) FROM audit_writer;

-- Which role may append which events: type, stream (a regular expression) and, for alert
-- events, which changes. Checked by audit.append_commit for every event of every batch.
CREATE TABLE audit.append_rights (
    role_name       name NOT NULL,
    event_type      text NOT NULL,
    stream_pattern  text NOT NULL,
    changes         text[],
    PRIMARY KEY (role_name, event_type, stream_pattern)
);
INSERT INTO audit.append_rights (role_name, event_type, stream_pattern, changes) VALUES
    -- agent ids never contain a space, so an emitter can never write into the system's own streams
    ('audit_ingest',   'agent-action.v1', '^[^ ]+$',         NULL),
    ('audit_detector', 'agent-alert.v1',  '^alert ',         ARRAY['opened', 'escalated', 'recovered']),
    ('audit_api',      'api-call.v1',     '^api (?!keys$)',  NULL),
    ('audit_api',      'api-calls-aggregated.v1', '^api anonymous$', NULL),
    ('audit_api',      'agent-alert.v1',  '^alert ',         ARRAY['acknowledged', 'resolved']),
    ('audit_ops',      'agent-alert.v1',  '^alert ',         ARRAY['acknowledged', 'resolved']),
    ('audit_ops',      'retention.v1',    '^retention log$', NULL),
    ('audit_ops',      'agent-scope.v1',  '^agent-scope ',   NULL);
CREATE TRIGGER append_rights_append_only BEFORE UPDATE OR DELETE ON audit.append_rights
    FOR EACH ROW EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER append_rights_no_truncate BEFORE TRUNCATE ON audit.append_rights
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();

-- Each agent's team and owner, which decide what a scoped API key may read, acknowledge and
-- export and which legal holds apply. Pinned by the agent's first action event; only an
-- agent-scope.v1 event (appended by an operator, audit_ops) changes them. Written only by
-- audit.append_commit, never by a service directly.
CREATE TABLE audit.agent_scope (
    agent_id    text        PRIMARY KEY,
    team        text,
    owner       text,
    pinned_at   timestamptz NOT NULL,
    pinned_by   bigint      NOT NULL
);
CREATE TRIGGER agent_scope_no_delete BEFORE DELETE ON audit.agent_scope
    FOR EACH ROW EXECUTE FUNCTION audit.reject_mutation();
CREATE TRIGGER agent_scope_no_truncate BEFORE TRUNCATE ON audit.agent_scope
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();
INSERT INTO audit.agent_scope (agent_id, team, owner, pinned_at, pinned_by)
SELECT DISTINCT ON (stream_id) stream_id, payload -> 'agent' ->> 'team', payload -> 'agent' ->> 'owner', recorded_at, global_seq
FROM audit.events WHERE event_type = 'agent-action.v1'
ORDER BY stream_id, global_seq;

-- The time of the newest append: appends never go back in time (into a month already sealed).
ALTER TABLE audit.log_head ADD COLUMN last_recorded_at timestamptz;
UPDATE audit.log_head SET last_recorded_at = (SELECT max(updated_at) FROM audit.stream_heads);

-- Appends under way, one row per transaction between audit.append_begin and audit.append_commit.
-- Rows of audit.events and audit.event_ids may be inserted only while one is open, at or after its
-- first position (a statement trigger counts them), and a transaction that inserted any cannot
-- commit without append_commit having checked them (a deferred trigger). So no row reaches the log
-- except through the checks, whatever role inserted it.
CREATE TABLE audit.open_appends (
    xact          xid8   PRIMARY KEY,
    first_seq     bigint NOT NULL,
    events_added  bigint NOT NULL DEFAULT 0,
    ids_added     bigint NOT NULL DEFAULT 0,
    max_seq       bigint
);

-- Starts an append: takes the log head's lock for the rest of the transaction (so appends are
-- serialized and positions commit in order), opens the append and returns the next position.
CREATE FUNCTION audit.append_begin() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
DECLARE seq bigint;
BEGIN
    SELECT next_seq INTO seq FROM audit.log_head WHERE singleton FOR UPDATE;
    INSERT INTO audit.open_appends (xact, first_seq) VALUES (pg_current_xact_id(), seq) ON CONFLICT (xact) DO NOTHING;
    RETURN seq;
END $$;

CREATE FUNCTION audit.inserted_within_append() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
DECLARE
    open_first bigint;
    n          bigint;
    lowest     bigint;
    highest    bigint;
BEGIN
    SELECT first_seq INTO open_first FROM audit.open_appends WHERE xact = pg_current_xact_id();
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit.%: rows are inserted only within an append (audit.append_begin … audit.append_commit)', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT count(*), min(global_seq), max(global_seq) INTO n, lowest, highest FROM added;
    IF lowest < open_first THEN
        RAISE EXCEPTION 'audit.%: position % lies before this append''s first position %', TG_TABLE_NAME, lowest, open_first
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE audit.open_appends
    SET events_added = events_added + CASE WHEN TG_TABLE_NAME = 'events' THEN n ELSE 0 END,
        ids_added = ids_added + CASE WHEN TG_TABLE_NAME = 'event_ids' THEN n ELSE 0 END,
        max_seq = greatest(max_seq, highest)
    WHERE xact = pg_current_xact_id();
    RETURN NULL;
END $$;
CREATE TRIGGER events_within_append AFTER INSERT ON audit.events REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION audit.inserted_within_append();
CREATE TRIGGER event_ids_within_append AFTER INSERT ON audit.event_ids REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION audit.inserted_within_append();

CREATE FUNCTION audit.append_must_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
BEGIN
    -- An append that inserted nothing (a batch of duplicates or rejects only) just closes.
    DELETE FROM audit.open_appends WHERE xact = NEW.xact AND events_added = 0 AND ids_added = 0;
    IF EXISTS (SELECT 1 FROM audit.open_appends WHERE xact = NEW.xact) THEN
        RAISE EXCEPTION 'audit: events were inserted but not committed through audit.append_commit; nothing is stored'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER open_appends_must_commit AFTER INSERT ON audit.open_appends
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit.append_must_commit();

-- A month dropped from the hot store never gets a partition again (its events live in the archive).
CREATE OR REPLACE FUNCTION audit.ensure_partitions(from_time timestamptz, months_ahead integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
DECLARE
    month_start date := date_trunc('month', from_time AT TIME ZONE 'UTC')::date;
    part_name   text;
    created     integer := 0;
BEGIN
    IF months_ahead < 0 OR months_ahead > 24 THEN
        RAISE EXCEPTION 'months_ahead must be between 0 and 24';
    END IF;
    IF EXISTS (SELECT 1 FROM audit.dropped_months WHERE month >= month_start) THEN
        RAISE EXCEPTION 'audit.ensure_partitions: % lies at or before a month dropped from the hot store', month_start
            USING ERRCODE = 'insufficient_privilege';
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

-- Finishes an append of the events at positions first..next-1, all recorded at recorded_at, which
-- the caller has just inserted: checks that they are exactly those positions (dense, each with its
-- id in event_ids), that the caller may append each of them, and that each continues its chain
-- from the stored head without a gap; then advances the chain heads and the log head, pins the
-- scope of new agents and applies scope changes, and wakes the subscriptions.
CREATE FUNCTION audit.append_commit_checked(p_first bigint, p_next bigint, p_recorded_at timestamptz, p_check_rights boolean)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
DECLARE
    head        bigint;
    last_at     timestamptz;
    opened      record;
    expected    bigint := p_next - p_first;
    found_rows  bigint;
    found_ids   bigint;
    other_time  bigint;
    bad         record;
    privileged  boolean;
BEGIN
    SELECT next_seq, last_recorded_at INTO head, last_at FROM audit.log_head WHERE singleton FOR UPDATE;
    IF head IS DISTINCT FROM p_first OR expected < 1 THEN
        RAISE EXCEPTION 'audit.append_commit: the log head is at %, not at % (or the range %..% is empty)', head, p_first, p_first, p_next - 1
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT * INTO opened FROM audit.open_appends WHERE xact = pg_current_xact_id();
    IF NOT FOUND OR opened.first_seq <> p_first OR opened.events_added <> expected OR opened.ids_added <> expected OR opened.max_seq >= p_next THEN
        RAISE EXCEPTION 'audit.append_commit: this transaction did not open an append at % and insert exactly positions %..% (and their ids)', p_first, p_first, p_next - 1
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_recorded_at < last_at OR EXISTS (SELECT 1 FROM audit.sealed_months WHERE month = date_trunc('month', p_recorded_at AT TIME ZONE 'UTC')::date) THEN
        RAISE EXCEPTION 'audit.append_commit: recorded at % is before the newest append (%) or in a sealed month', p_recorded_at, last_at
            USING ERRCODE = 'check_violation';
    END IF;

    SELECT count(*), count(i.event_id), count(*) FILTER (WHERE e.recorded_at <> p_recorded_at)
    INTO found_rows, found_ids, other_time
    FROM audit.events e LEFT JOIN audit.event_ids i ON i.event_id = e.event_id AND i.global_seq = e.global_seq
    WHERE e.global_seq >= p_first AND e.global_seq < p_next;
    IF found_rows <> expected OR found_ids <> expected OR other_time <> 0 THEN
        RAISE EXCEPTION 'audit.append_commit: positions %..% hold % events (% with their id recorded, % at another time), not %',
            p_first, p_next - 1, found_rows, found_ids, other_time, expected USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM audit.events WHERE global_seq >= p_next) THEN
        RAISE EXCEPTION 'audit.append_commit: events exist past position %, beyond the log head', p_next - 1 USING ERRCODE = 'check_violation';
    END IF;

    privileged := pg_has_role(session_user, (SELECT nspowner FROM pg_namespace WHERE nspname = 'audit'), 'MEMBER');
    IF p_check_rights AND NOT privileged THEN
        SELECT e.global_seq, e.event_type, e.stream_id INTO bad
        FROM audit.events e
        WHERE e.global_seq >= p_first AND e.global_seq < p_next
          AND NOT EXISTS (
              SELECT 1 FROM audit.append_rights r
              WHERE r.event_type = e.event_type AND e.stream_id ~ r.stream_pattern
                AND pg_has_role(session_user, r.role_name, 'MEMBER')
                AND (r.changes IS NULL OR (e.payload ->> 'change') = ANY (r.changes)))
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'audit.append_commit: role % may not append % to stream "%" (position %)', session_user, bad.event_type, bad.stream_id, bad.global_seq
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;

    WITH batch AS (
        SELECT stream_id, version, prev_hash, global_seq,
               lag(hash) OVER w AS prev_in_batch, lag(version) OVER w AS prev_version, row_number() OVER w AS n
        FROM audit.events WHERE global_seq >= p_first AND global_seq < p_next
        WINDOW w AS (PARTITION BY stream_id ORDER BY global_seq))
    SELECT b.stream_id, b.version, b.global_seq INTO bad
    FROM batch b LEFT JOIN audit.stream_heads h ON h.stream_id = b.stream_id
    WHERE (b.n = 1 AND (b.version <> coalesce(h.version, 0) + 1 OR b.prev_hash <> coalesce(h.hash, decode(repeat('00', 32), 'hex'))))
       OR (b.n > 1 AND (b.version <> b.prev_version + 1 OR b.prev_hash <> b.prev_in_batch))
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'audit.append_commit: the event at position % (chain "%", version %) does not continue its chain from the stored head',
            bad.global_seq, bad.stream_id, bad.version USING ERRCODE = 'check_violation';
    END IF;

    INSERT INTO audit.stream_heads AS h (stream_id, version, hash, global_seq, updated_at)
    SELECT DISTINCT ON (stream_id) stream_id, version, hash, global_seq, p_recorded_at
    FROM audit.events WHERE global_seq >= p_first AND global_seq < p_next
    ORDER BY stream_id, global_seq DESC
    ON CONFLICT (stream_id) DO UPDATE
        SET version = EXCLUDED.version, hash = EXCLUDED.hash, global_seq = EXCLUDED.global_seq, updated_at = EXCLUDED.updated_at;

    UPDATE audit.log_head SET next_seq = p_next, last_recorded_at = p_recorded_at WHERE singleton;
    DELETE FROM audit.open_appends WHERE xact = pg_current_xact_id();

    -- Scope: the first action of an agent pins it; a later action carrying another team or owner
    -- changes nothing (the ownership detector reports it).
    INSERT INTO audit.agent_scope (agent_id, team, owner, pinned_at, pinned_by)
    SELECT f.stream_id, e.payload -> 'agent' ->> 'team', e.payload -> 'agent' ->> 'owner', p_recorded_at, f.global_seq
    FROM (SELECT DISTINCT ON (stream_id) stream_id, global_seq FROM audit.events
          WHERE global_seq >= p_first AND global_seq < p_next AND event_type = 'agent-action.v1'
          ORDER BY stream_id, global_seq) f
    JOIN audit.events e ON e.global_seq = f.global_seq AND e.recorded_at = p_recorded_at
    WHERE NOT EXISTS (SELECT 1 FROM audit.agent_scope s WHERE s.agent_id = f.stream_id)
    ON CONFLICT (agent_id) DO NOTHING;

    INSERT INTO audit.agent_scope AS s (agent_id, team, owner, pinned_at, pinned_by)
    SELECT DISTINCT ON (payload ->> 'agent_id') payload ->> 'agent_id', payload ->> 'team', payload ->> 'owner', p_recorded_at, global_seq
    FROM audit.events WHERE global_seq >= p_first AND global_seq < p_next AND event_type = 'agent-scope.v1'
    ORDER BY payload ->> 'agent_id', global_seq DESC
    ON CONFLICT (agent_id) DO UPDATE SET team = EXCLUDED.team, owner = EXCLUDED.owner, pinned_at = EXCLUDED.pinned_at, pinned_by = EXCLUDED.pinned_by;

    PERFORM pg_notify('audit_events', (p_next - 1)::text);
END $$;

-- What the services call.
CREATE FUNCTION audit.append_commit(p_first bigint, p_next bigint, p_recorded_at timestamptz) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
    SELECT audit.append_commit_checked(p_first, p_next, p_recorded_at, true)
$$;

-- Appends one event from inside the database, for the owner-side operations below: the same
-- chain record as ChainHash.Compute (docs/event-store.md "Hash chain"), so auditctl verify checks
-- it like any other event.
CREATE FUNCTION audit.append_internal(p_stream text, p_type text, p_event_id uuid, p_occurred_at timestamptz, p_payload text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
DECLARE
    seq     bigint := audit.append_begin();
    at      timestamptz := clock_timestamp();
    body    bytea := convert_to(p_payload, 'UTF8');
    stream  bytea := convert_to(p_stream, 'UTF8');
    etype   bytea := convert_to(p_type, 'UTF8');
    ver     bigint;
    prev    bytea;
    h       bytea;
BEGIN
    PERFORM audit.ensure_partitions(at, 0);
    SELECT version, hash INTO ver, prev FROM audit.stream_heads WHERE stream_id = p_stream;
    IF NOT FOUND THEN
        ver := 0;
        prev := decode(repeat('00', 32), 'hex');
    END IF;
    h := sha256(prev || convert_to('AUDITPIPELINE-CHAIN-V1', 'UTF8')
        || substring(int4send(octet_length(stream)) FROM 3) || stream
        || int8send(ver + 1) || uuid_send(p_event_id)
        || substring(int4send(octet_length(etype)) FROM 3) || etype
        || int8send((extract(epoch FROM at) * 1000000)::bigint)
        || int4send(octet_length(body)) || body);
    INSERT INTO audit.events (global_seq, stream_id, version, event_id, event_type, occurred_at, recorded_at, payload, prev_hash, hash)
    VALUES (seq, p_stream, ver + 1, p_event_id, p_type, p_occurred_at, at, p_payload::json, prev, h);
    INSERT INTO audit.event_ids (event_id, global_seq) VALUES (p_event_id, seq);
    PERFORM audit.append_commit_checked(seq, seq + 1, at, false);
    RETURN seq;
END $$;

-- API keys are created and revoked only here, each time with an api-key.v1 event in the store
-- (stream "api keys"). The row is read from the event's own payload, so the two cannot differ.
CREATE FUNCTION audit_admin.create_api_key(p_event_id uuid, p_payload text, p_salt bytea, p_secret_hash bytea)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit_admin, audit, pg_temp AS $$
DECLARE
    e jsonb := p_payload::jsonb;
BEGIN
    IF e ->> 'action' IS DISTINCT FROM 'created' THEN
        RAISE EXCEPTION 'create_api_key: the event must record a creation' USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO audit_admin.api_keys (key_id, salt, secret_hash, owner, roles, teams, owners, description, created_at, expires_at)
    VALUES (e ->> 'key_id', p_salt, p_secret_hash, e ->> 'owner',
            ARRAY(SELECT jsonb_array_elements_text(e -> 'roles')), ARRAY(SELECT jsonb_array_elements_text(e -> 'teams')),
            ARRAY(SELECT jsonb_array_elements_text(e -> 'owners')), e ->> 'description', (e ->> 'at')::timestamptz, (e ->> 'expires_at')::timestamptz);
    RETURN audit.append_internal('api keys', 'api-key.v1', p_event_id, (e ->> 'at')::timestamptz, p_payload);
END $$;

CREATE FUNCTION audit_admin.revoke_api_key(p_event_id uuid, p_payload text)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = audit_admin, audit, pg_temp AS $$
DECLARE
    e jsonb := p_payload::jsonb;
BEGIN
    IF e ->> 'action' IS DISTINCT FROM 'revoked' THEN
        RAISE EXCEPTION 'revoke_api_key: the event must record a revocation' USING ERRCODE = 'check_violation';
    END IF;
    UPDATE audit_admin.api_keys SET revoked_at = (e ->> 'at')::timestamptz WHERE key_id = e ->> 'key_id' AND revoked_at IS NULL;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM audit.append_internal('api keys', 'api-key.v1', p_event_id, (e ->> 'at')::timestamptz, p_payload);
    RETURN true;
END $$;

-- A key row changes only by being revoked, once: revoked_at never goes back to NULL and nothing
-- else about a key ever changes. Keys are never deleted (they name principals in the audit trail).
CREATE FUNCTION audit_admin.api_keys_revoke_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.revoked_at IS NOT NULL OR NEW.revoked_at IS NULL
       OR (NEW.key_id, NEW.salt, NEW.secret_hash, NEW.owner, NEW.roles, NEW.teams, NEW.owners, NEW.description, NEW.created_at, NEW.expires_at)
          IS DISTINCT FROM (OLD.key_id, OLD.salt, OLD.secret_hash, OLD.owner, OLD.roles, OLD.teams, OLD.owners, OLD.description, OLD.created_at, OLD.expires_at) THEN
        RAISE EXCEPTION 'audit_admin.api_keys: a key can only be revoked, once' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER api_keys_revoke_only BEFORE UPDATE OR DELETE ON audit_admin.api_keys
    FOR EACH ROW EXECUTE FUNCTION audit_admin.api_keys_revoke_only();
CREATE TRIGGER api_keys_no_truncate BEFORE TRUNCATE ON audit_admin.api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();

-- Legal holds are released only here (a service role never UPDATEs the store's schema).
CREATE FUNCTION audit.release_legal_hold(p_hold_id uuid, p_released_at timestamptz, p_released_by text, p_reason text)
RETURNS boolean LANGUAGE sql SECURITY DEFINER SET search_path = audit, pg_temp AS $$
    WITH released AS (
        UPDATE audit.legal_holds SET released_at = p_released_at, released_by = p_released_by, release_reason = p_reason
        WHERE hold_id = p_hold_id AND released_at IS NULL RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM released)
$$;

-- Subscription checkpoints belong to the role that saves them: a projector cannot move the
-- detectors' position (or the other way round) to make them skip events. A position the schema
-- owner wrote (a rebuild, a test's set-up) may be taken over by the first service that saves it.
ALTER TABLE audit.subscription_checkpoints ADD COLUMN owner_role name NOT NULL DEFAULT current_user;
UPDATE audit.subscription_checkpoints SET owner_role = CASE
    WHEN name IN ('clickhouse-actions', 'read-models', 'merkle-tree') THEN 'audit_projector'
    WHEN name = 'detectors' OR name LIKE 'alerts-%' THEN 'audit_detector'
    ELSE owner_role END;
CREATE FUNCTION audit.schema_owner() RETURNS name LANGUAGE sql STABLE AS $$
    SELECT nspowner::regrole::name FROM pg_namespace WHERE nspname = 'audit'
$$;
ALTER TABLE audit.subscription_checkpoints ENABLE ROW LEVEL SECURITY;
CREATE POLICY subscription_checkpoints_read ON audit.subscription_checkpoints FOR SELECT USING (true);
CREATE POLICY subscription_checkpoints_insert ON audit.subscription_checkpoints FOR INSERT WITH CHECK (owner_role = current_user);
CREATE POLICY subscription_checkpoints_update ON audit.subscription_checkpoints FOR UPDATE
    USING (owner_role = current_user OR owner_role = audit.schema_owner()) WITH CHECK (owner_role = current_user);

-- The grants. Reading the store is not a write: every service except ingest reads through audit_reader.
REVOKE ALL ON FUNCTION audit.inserted_within_append(), audit.append_must_commit() FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.append_begin(), audit.append_commit(bigint, bigint, timestamptz),
    audit.append_commit_checked(bigint, bigint, timestamptz, boolean), audit.append_internal(text, text, uuid, timestamptz, text),
    audit_admin.create_api_key(uuid, text, bytea, bytea), audit_admin.revoke_api_key(uuid, text),
    audit.release_legal_hold(uuid, timestamptz, text, text) FROM PUBLIC;
GRANT audit_reader TO audit_projector, audit_detector, audit_api, audit_ops;
GRANT SELECT ON audit.agent_scope, audit.append_rights TO audit_reader;
-- Key secrets' salted hashes: only the API, which authenticates callers, reads them.
REVOKE SELECT ON audit_admin.api_keys FROM audit_reader;
GRANT SELECT (key_id, owner, roles, teams, owners, description, created_at, expires_at, revoked_at) ON audit_admin.api_keys TO audit_reader;
GRANT SELECT ON audit_admin.api_keys TO audit_api;

-- Appenders: insert the rows of a batch, then append_commit checks and publishes them.
GRANT USAGE ON SCHEMA audit TO audit_ingest;
GRANT SELECT ON audit.events, audit.log_head, audit.stream_heads, audit.event_ids, audit.quarantine, audit.dropped_months, audit.subject_keys TO audit_ingest;
GRANT INSERT ON audit.events, audit.event_ids TO audit_ingest, audit_detector, audit_api, audit_ops;
GRANT EXECUTE ON FUNCTION audit.append_begin(), audit.append_commit(bigint, bigint, timestamptz), audit.ensure_partitions(timestamptz, integer)
    TO audit_ingest, audit_detector, audit_api, audit_ops;
GRANT INSERT ON audit.quarantine TO audit_ingest;
-- Redaction: ingest makes a subject's key the first time it sees the subject.
GRANT INSERT ON audit.subject_keys TO audit_ingest;

-- Projector: read models, the Merkle tree, checkpoints; its own subscription positions.
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA audit_read TO audit_projector;
GRANT INSERT ON audit.merkle_nodes TO audit_projector;
GRANT INSERT, UPDATE ON audit.subscription_checkpoints TO audit_projector, audit_detector;
-- Whoever holds a checkpoint signing key may record what it signed (the projector; the API and
-- auditctl for on-demand checkpoints and exports). The signature, checked against trusted keys, is
-- what counts; a row alone proves nothing.
GRANT INSERT ON audit.checkpoints, audit.signing_keys TO audit_projector, audit_api, audit_ops;

-- Query API: revokes keys (admin role) through the function.
GRANT EXECUTE ON FUNCTION audit_admin.revoke_api_key(uuid, text) TO audit_api, audit_ops;

-- Operations (auditctl): keys, holds, sealing, scope changes.
GRANT EXECUTE ON FUNCTION audit_admin.create_api_key(uuid, text, bytea, bytea), audit.release_legal_hold(uuid, timestamptz, text, text) TO audit_ops;
GRANT INSERT ON audit.legal_holds, audit.sealed_months TO audit_ops;
