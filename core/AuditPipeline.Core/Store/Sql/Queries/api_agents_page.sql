-- A page of the agent inventory in agent_id order, after a cursor, optionally filtered, and
-- limited to a principal's scope (empty scope arrays = unscoped).
SELECT agent_id, name, owner, team, risk_tier, model_versions, first_seen, last_seen, actions, denied, cost_micro_usd, unowned
FROM audit_read.agents
WHERE agent_id > @after
  AND (@owner::text IS NULL OR owner = @owner)
  AND (@team::text IS NULL OR team = @team)
  AND (@unowned::boolean IS NULL OR unowned = @unowned)
  AND ((cardinality(@scope_teams::text[]) = 0 AND cardinality(@scope_owners::text[]) = 0)
       OR team = ANY(@scope_teams) OR owner = ANY(@scope_owners))
ORDER BY agent_id
LIMIT @limit
