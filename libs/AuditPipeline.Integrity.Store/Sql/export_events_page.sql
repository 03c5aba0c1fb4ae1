-- One page of a bundle's events in log order: recorded in [@from, @to), at or below the signed
-- size, of every chain (@all_streams) or of the chosen agents and the alerts about them.
SELECT global_seq, stream_id, version, event_id, event_type, occurred_at, recorded_at, payload::text, prev_hash, hash
FROM audit.events
WHERE global_seq > @after AND global_seq <= @max_seq
  AND recorded_at >= @from AND recorded_at < @to
  AND (@all_streams
       OR stream_id = ANY(@agents)
       OR (event_type = 'agent-alert.v1' AND (payload ->> 'agent_id') = ANY(@agents)))
ORDER BY global_seq
LIMIT @limit
