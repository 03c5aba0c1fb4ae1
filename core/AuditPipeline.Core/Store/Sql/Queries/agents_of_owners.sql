-- Agents the inventory attributes to the given owners (bundle selection by owner).
SELECT agent_id FROM audit_read.agents WHERE owner = ANY(@owners) ORDER BY agent_id
