-- Read models kept by the read-model projector (a store subscription). Rebuildable from the
-- store at any time, so unlike audit.* they may be updated.
CREATE SCHEMA IF NOT EXISTS audit_read;

-- Every agent ever seen.
CREATE TABLE audit_read.agents (
    agent_id         text        PRIMARY KEY,
    name             text        NOT NULL,
    owner            text,
    team             text,
    risk_tier        text,
    model_versions   text[]      NOT NULL DEFAULT '{}',
    first_seen       timestamptz NOT NULL,
    last_seen        timestamptz NOT NULL,
    actions          bigint      NOT NULL,
    denied           bigint      NOT NULL,
    cost_micro_usd   bigint      NOT NULL,
    -- No accountable human owner: on-call and auditors must see these first.
    unowned          boolean     NOT NULL,
    -- Idempotency: events at or below this position are already counted.
    last_global_seq  bigint      NOT NULL
);
CREATE INDEX agents_unowned ON audit_read.agents (agent_id) WHERE unowned;

-- Why was this action allowed (or denied)? One row per action event: the searchable parts,
-- the event as stored (canonical JSON) and its chain integrity data.
CREATE TABLE audit_read.authorizations (
    event_id          uuid        PRIMARY KEY,
    global_seq        bigint      NOT NULL,
    agent_id          text        NOT NULL,
    version           bigint      NOT NULL,
    occurred_at       timestamptz NOT NULL,
    recorded_at       timestamptz NOT NULL,
    on_behalf_of      text,
    decision          text        NOT NULL,
    policy_id         text        NOT NULL,
    policy_version    text        NOT NULL,
    payload           json        NOT NULL,
    prev_hash         bytea       NOT NULL,
    hash              bytea       NOT NULL
);
CREATE INDEX authorizations_agent_time ON audit_read.authorizations (agent_id, occurred_at);

GRANT USAGE ON SCHEMA audit_read TO audit_writer, audit_reader;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA audit_read TO audit_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA audit_read TO audit_reader;
