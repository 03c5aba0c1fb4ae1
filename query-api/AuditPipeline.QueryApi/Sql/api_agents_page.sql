-- A page of the agent inventory in agent_id order, after a cursor, optionally filtered, and
-- limited to a principal's scope (empty scope arrays = unscoped). Team and owner come from the
-- pinned scope (audit.agent_scope), never from the rebuildable inventory.
SELECT a.agent_id, a.name, s.owner, s.team, a.risk_tier, a.model_versions, a.first_seen, a.last_seen, a.actions, a.denied, a.cost_micro_usd, a.unowned
FROM audit_read.agents a LEFT JOIN audit.agent_scope s ON s.agent_id = a.agent_id
WHERE a.agent_id > @after
  AND (@owner::text IS NULL OR s.owner = @owner)
  AND (@team::text IS NULL OR s.team = @team)
  AND (@unowned::boolean IS NULL OR a.unowned = @unowned)
  AND ((cardinality(@scope_teams::text[]) = 0 AND cardinality(@scope_owners::text[]) = 0)
       OR s.team = ANY(@scope_teams) OR s.owner = ANY(@scope_owners))
ORDER BY a.agent_id
LIMIT @limit
