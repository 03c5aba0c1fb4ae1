-- The agents pinned to any of the given teams or owners (a scoped key's reach).
SELECT agent_id FROM audit.agent_scope WHERE team = ANY(@teams) OR owner = ANY(@owners) ORDER BY agent_id
