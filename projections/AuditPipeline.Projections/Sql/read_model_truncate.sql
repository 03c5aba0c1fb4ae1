-- Rebuilds only (owner connection): read models are derived data and may be emptied.
TRUNCATE audit_read.agents, audit_read.authorizations, audit_read.incidents
