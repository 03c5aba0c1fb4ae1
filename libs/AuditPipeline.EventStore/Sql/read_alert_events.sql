-- Alert events recorded since a time, in log order (uses the partial index events_alerts).
SELECT global_seq, payload::text
FROM audit.events
WHERE event_type = 'agent-alert.v1' AND recorded_at >= @since AND global_seq <= @upto
ORDER BY global_seq
