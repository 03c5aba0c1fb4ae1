-- Team and owner from the pinned scope (audit.agent_scope), never from the rebuildable inventory.
SELECT a.agent_id, a.name, s.owner, s.team, a.risk_tier, a.model_versions, a.first_seen, a.last_seen, a.actions, a.denied, a.cost_micro_usd, a.unowned
FROM audit_read.agents a LEFT JOIN audit.agent_scope s ON s.agent_id = a.agent_id
WHERE a.agent_id = @agent_id
