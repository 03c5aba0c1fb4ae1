-- Subscriptions: each consumer of the store (projections, detectors) keeps its own
-- checkpoint, the last global_seq it has fully handled. Not part of the immutable log, so the
-- writer role may update it.

CREATE TABLE audit.subscription_checkpoints (
    name        text        PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
    position    bigint      NOT NULL CHECK (position >= 0),
    updated_at  timestamptz NOT NULL
);

GRANT SELECT, INSERT, UPDATE ON audit.subscription_checkpoints TO audit_writer;
GRANT SELECT ON audit.subscription_checkpoints TO audit_reader;
