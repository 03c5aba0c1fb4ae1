-- Every retention operation, in log order (legal holds are folded from these).
SELECT payload::text FROM audit.events WHERE stream_id = 'retention log' ORDER BY version
