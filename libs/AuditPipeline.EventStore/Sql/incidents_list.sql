-- Incidents for a listing, newest first, with each agent's pinned scope joined in the same query
-- (a scoped principal sees an incident about an owner it covers, or about an agent of its teams or
-- owners). The cursor is the last row of the previous page: (started_at, incident_id).
SELECT i.incident_id, i.agent_id, i.owner, i.subject_owner, i.severity, i.status, i.is_open, i.acknowledged_by, i.categories,
       i.title, i.started_at, i.updated_at, i.version
FROM audit_read.incidents i
LEFT JOIN audit.agent_scope s ON s.agent_id = i.agent_id
WHERE i.last_recorded_at >= @since
  AND (NOT @open_only OR i.is_open)
  AND (@severity::text IS NULL OR i.severity = @severity)
  AND (@agent::text IS NULL OR i.agent_id = @agent)
  AND (NOT @scoped OR i.subject_owner = ANY(@owners) OR s.team = ANY(@teams) OR s.owner = ANY(@owners))
  AND (@after_started::timestamptz IS NULL OR i.started_at < @after_started
       OR (i.started_at = @after_started AND i.incident_id > @after_id))
ORDER BY i.started_at DESC, i.incident_id
LIMIT @limit
