-- Legal holds as state (docs/retention.md). Each hold is also a retention.v1 event, but those
-- events live in month partitions that are dropped and, after 7 years, purged: a hold created in
-- 2019 must still stop a drop or purge in 2027, so enforcement reads this table, never the log.
CREATE TABLE audit.legal_holds (
    hold_id         uuid        PRIMARY KEY,
    agent_id        text,
    owner           text,
    held_from       timestamptz,
    held_to         timestamptz,
    reason          text        NOT NULL,
    created_by      text        NOT NULL,
    created_at      timestamptz NOT NULL,
    released_at     timestamptz,
    released_by     text,
    release_reason  text,
    CHECK (agent_id IS NOT NULL OR owner IS NOT NULL OR held_from IS NOT NULL OR held_to IS NOT NULL)
);

-- A hold is created once and released once; nothing else about it ever changes.
CREATE FUNCTION audit.legal_holds_release_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.released_at IS NOT NULL OR NEW.released_at IS NULL
       OR (NEW.hold_id, NEW.agent_id, NEW.owner, NEW.held_from, NEW.held_to, NEW.reason, NEW.created_by, NEW.created_at)
          IS DISTINCT FROM (OLD.hold_id, OLD.agent_id, OLD.owner, OLD.held_from, OLD.held_to, OLD.reason, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION 'audit.legal_holds: a hold can only be released, once' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER legal_holds_release_only BEFORE UPDATE OR DELETE ON audit.legal_holds
    FOR EACH ROW EXECUTE FUNCTION audit.legal_holds_release_only();
CREATE TRIGGER legal_holds_no_truncate BEFORE TRUNCATE ON audit.legal_holds
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_mutation();

-- Holds recorded before this table existed, folded from the retention log.
INSERT INTO audit.legal_holds (hold_id, agent_id, owner, held_from, held_to, reason, created_by, created_at)
SELECT (payload->>'hold_id')::uuid, payload->>'hold_agent', payload->>'hold_owner', (payload->>'hold_from')::timestamptz,
       (payload->>'hold_to')::timestamptz, coalesce(payload->>'reason', ''), coalesce(payload->>'actor', 'unknown'), (payload->>'at')::timestamptz
FROM audit.events WHERE stream_id = 'retention log' AND payload->>'action' = 'hold_created';
UPDATE audit.legal_holds h
SET released_at = (e.payload->>'at')::timestamptz, released_by = coalesce(e.payload->>'actor', 'unknown'), release_reason = e.payload->>'reason'
FROM audit.events e
WHERE e.stream_id = 'retention log' AND e.payload->>'action' = 'hold_released' AND (e.payload->>'hold_id')::uuid = h.hold_id;

GRANT SELECT, INSERT ON audit.legal_holds TO audit_writer;
GRANT UPDATE (released_at, released_by, release_reason) ON audit.legal_holds TO audit_writer;
GRANT SELECT ON audit.legal_holds TO audit_reader;

-- Where each dropped month sat in the log, so a subscription rebuilt from zero (a projection
-- replay) can tell the hole a drop leaves from a hole nobody accounts for. Months dropped before
-- this migration have NULLs here; replays across them still stop, with the reason.
ALTER TABLE audit.dropped_months ADD COLUMN first_seq bigint, ADD COLUMN last_seq bigint, ADD COLUMN events bigint;
