SELECT agent_id, name, owner, team, risk_tier, model_versions, first_seen, last_seen, actions, denied, cost_micro_usd, unowned
FROM audit_read.agents
WHERE agent_id = @agent_id
