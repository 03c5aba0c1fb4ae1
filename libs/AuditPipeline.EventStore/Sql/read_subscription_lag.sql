SELECT c.name, c.position, h.next_seq - 1 AS head, c.updated_at,
       (SELECT e.recorded_at FROM audit.events e WHERE e.global_seq = c.position + 1) AS oldest_unhandled_at
FROM audit.subscription_checkpoints c CROSS JOIN audit.log_head h
ORDER BY c.name
