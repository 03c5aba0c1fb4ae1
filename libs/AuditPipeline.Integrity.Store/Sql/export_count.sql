-- How many events a bundle will hold (for progress).
SELECT count(*)
FROM audit.events
WHERE global_seq <= @max_seq
  AND recorded_at >= @from AND recorded_at < @to
  AND (@all_streams
       OR stream_id = ANY(@agents)
       OR (event_type = 'agent-alert.v1' AND (payload ->> 'agent_id') = ANY(@agents)))
