-- The event as the store holds it (found by id, not through the read model), the hash of the event
-- before it in its chain, the read model's copy to compare, and, when its month was dropped from
-- the hot store, which sealed month holds it (so the archive lookup opens one segment).
SELECT i.global_seq AS position,
       e.stream_id, e.version, e.event_type, e.occurred_at, e.recorded_at, e.payload::text AS payload, e.prev_hash, e.hash,
       (SELECT p.hash FROM audit.events p WHERE p.stream_id = e.stream_id AND p.version = e.version - 1) AS previous_event_hash,
       (SELECT to_char(d.month, 'YYYY-MM') FROM audit.dropped_months d WHERE i.global_seq BETWEEN d.first_seq AND d.last_seq) AS dropped_month,
       a.event_id IS NOT NULL AS in_read_model,
       a.global_seq AS rm_position, a.agent_id AS rm_agent_id, a.version AS rm_version, a.occurred_at AS rm_occurred_at,
       a.recorded_at AS rm_recorded_at, a.on_behalf_of AS rm_on_behalf_of, a.decision AS rm_decision, a.policy_id AS rm_policy_id,
       a.policy_version AS rm_policy_version, a.payload::text AS rm_payload, a.prev_hash AS rm_prev_hash, a.hash AS rm_hash
FROM audit.event_ids i
LEFT JOIN audit.events e ON e.global_seq = i.global_seq AND e.global_seq < (SELECT next_seq FROM audit.log_head)
LEFT JOIN audit_read.authorizations a ON a.event_id = i.event_id
WHERE i.event_id = @event_id
