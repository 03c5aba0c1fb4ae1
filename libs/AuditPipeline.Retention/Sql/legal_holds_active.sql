SELECT hold_id, agent_id, owner, held_from, held_to, reason, created_by, created_at
FROM audit.legal_holds WHERE released_at IS NULL ORDER BY created_at;
