-- The months the hot store holds: one partition of audit.events each (named events_yyyy_MM).
SELECT to_date(substring(c.relname FROM 'events_([0-9]{4}_[0-9]{2})$'), 'YYYY_MM') AS month
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'audit.events'::regclass
  AND c.relname ~ '^events_[0-9]{4}_[0-9]{2}$'
ORDER BY 1;
