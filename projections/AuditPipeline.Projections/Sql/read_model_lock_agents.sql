SELECT agent_id, last_global_seq FROM audit_read.agents WHERE agent_id = ANY(@ids) FOR UPDATE
