INSERT INTO audit.legal_holds (hold_id, agent_id, owner, held_from, held_to, reason, created_by, created_at)
VALUES (@hold_id, @agent_id, @owner, @held_from, @held_to, @reason, @created_by, @created_at);
