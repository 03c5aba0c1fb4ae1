-- Does the month hold any event of these agents (a legal hold by agent or owner covers it then)?
SELECT EXISTS (
    SELECT 1 FROM audit.events
    WHERE recorded_at >= @from AND recorded_at < @to
      AND (stream_id = ANY(@agents) OR (event_type = 'agent-alert.v1' AND (payload ->> 'agent_id') = ANY(@agents))))
