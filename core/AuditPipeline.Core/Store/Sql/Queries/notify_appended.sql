-- Delivered at commit to every LISTEN audit_events session: subscriptions wake at once.
SELECT pg_notify('audit_events', @head::text)
