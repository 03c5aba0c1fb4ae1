-- Alert events (agent-alert.v1) live in the same log as actions. The detectors reload open
-- incidents at start and auditctl lists alerts; a partial index keeps those reads off the
-- action rows (alerts are a tiny fraction of the log).
CREATE INDEX events_alerts ON audit.events (global_seq) WHERE event_type = 'agent-alert.v1';
