-- Folded incidents from the projector; a row never goes back to an older version (replays, rebuild races).
INSERT INTO audit_read.incidents AS i (incident_id, agent_id, owner, subject_owner, severity, status, is_open, acknowledged_by,
                                       categories, title, started_at, updated_at, last_recorded_at, version, last_global_seq)
SELECT u.incident_id, u.agent_id, u.owner, u.subject_owner, u.severity, u.status, u.is_open, u.acknowledged_by,
       string_to_array(u.categories, E'\x1f'), u.title, u.started_at, u.updated_at, u.last_recorded_at, u.version, u.last_global_seq
FROM unnest(@ids::uuid[], @agents::text[], @owners::text[], @subject_owners::text[], @severities::text[], @statuses::text[], @open::boolean[],
            @acknowledged_by::text[], @categories::text[], @titles::text[], @started::timestamptz[], @updated::timestamptz[],
            @recorded::timestamptz[], @versions::bigint[], @seqs::bigint[])
     AS u(incident_id, agent_id, owner, subject_owner, severity, status, is_open, acknowledged_by, categories, title,
          started_at, updated_at, last_recorded_at, version, last_global_seq)
ON CONFLICT (incident_id) DO UPDATE SET
    agent_id = EXCLUDED.agent_id, owner = EXCLUDED.owner, subject_owner = EXCLUDED.subject_owner, severity = EXCLUDED.severity,
    status = EXCLUDED.status, is_open = EXCLUDED.is_open, acknowledged_by = EXCLUDED.acknowledged_by, categories = EXCLUDED.categories,
    title = EXCLUDED.title, started_at = EXCLUDED.started_at, updated_at = EXCLUDED.updated_at,
    last_recorded_at = EXCLUDED.last_recorded_at, version = EXCLUDED.version, last_global_seq = EXCLUDED.last_global_seq
WHERE i.version < EXCLUDED.version
