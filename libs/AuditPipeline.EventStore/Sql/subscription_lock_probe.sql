-- The leader-lock connection's health check: answering means its session, and so its locks, live.
SELECT 1
