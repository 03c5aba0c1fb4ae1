-- Agents pinned to the given owners (bundle selection and holds by owner): the pinned scope, not the inventory.
SELECT agent_id FROM audit.agent_scope WHERE owner = ANY(@owners) ORDER BY agent_id
