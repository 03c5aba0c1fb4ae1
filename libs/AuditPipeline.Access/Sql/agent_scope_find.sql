-- An agent's pinned scope (migration 0010): set by its first action, changed only by agent-scope.v1 events.
SELECT team, owner, pinned_at, pinned_by FROM audit.agent_scope WHERE agent_id = @agent_id
