-- Principals of the query API. API keys are stored only as salted HMAC-SHA256 hashes of their
-- secret; the key id is the public half and names the principal in the audit trail.
CREATE SCHEMA IF NOT EXISTS audit_admin;

CREATE TABLE audit_admin.api_keys (
    key_id       text        PRIMARY KEY CHECK (key_id ~ '^[a-z0-9]{12}$'),
    salt         bytea       NOT NULL CHECK (length(salt) = 16),
    secret_hash  bytea       NOT NULL CHECK (length(secret_hash) = 32),
    owner        text        NOT NULL CHECK (length(owner) BETWEEN 1 AND 200),
    roles        text[]      NOT NULL CHECK (roles <@ ARRAY['auditor', 'oncall', 'admin'] AND cardinality(roles) > 0),
    -- Empty means unscoped: the principal sees every team and owner.
    teams        text[]      NOT NULL DEFAULT '{}',
    owners       text[]      NOT NULL DEFAULT '{}',
    description  text,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    revoked_at   timestamptz
);

GRANT USAGE ON SCHEMA audit_admin TO audit_writer, audit_reader;
GRANT SELECT, INSERT ON audit_admin.api_keys TO audit_writer;
GRANT UPDATE (revoked_at) ON audit_admin.api_keys TO audit_writer;
GRANT SELECT ON audit_admin.api_keys TO audit_reader;
