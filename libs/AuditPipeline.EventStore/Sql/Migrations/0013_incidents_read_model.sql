-- Incidents read model (docs/detectors.md "Incidents"): one row per incident, the fold of its
-- alert stream (IncidentState) as of version `version`. Kept by the read-model projector, so like
-- every audit_read table it can be emptied and rebuilt from the store (auditctl projections
-- rebuild read-models); acknowledge and resolve never trust it: they fold the incident's stream.
CREATE TABLE audit_read.incidents (
    incident_id      uuid        PRIMARY KEY,
    agent_id         text        NOT NULL,
    owner            text,
    subject_owner    text,
    severity         text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('open', 'acknowledged', 'recovered', 'resolved')),
    is_open          boolean     NOT NULL,
    acknowledged_by  text,
    categories       text[]      NOT NULL,
    title            text        NOT NULL,
    started_at       timestamptz NOT NULL,
    -- event time of the latest change (what the API shows) and when it was stored (the listing's look-back)
    updated_at       timestamptz NOT NULL,
    last_recorded_at timestamptz NOT NULL,
    -- the stream version folded; a row only moves forward
    version          bigint      NOT NULL CHECK (version >= 1),
    last_global_seq  bigint      NOT NULL
);
CREATE INDEX incidents_started ON audit_read.incidents (started_at DESC, incident_id);
CREATE INDEX incidents_agent ON audit_read.incidents (agent_id);

GRANT SELECT, INSERT, UPDATE ON audit_read.incidents TO audit_projector;
GRANT SELECT ON audit_read.incidents TO audit_reader;

-- Incidents stored before this table existed: the read-model projector starts over and folds them.
-- A replay is harmless for the other read models (authorizations are keyed by event id, an agent's
-- totals only count events above the position it already counted).
UPDATE audit.subscription_checkpoints SET position = 0, updated_at = now() WHERE name = 'read-models';
