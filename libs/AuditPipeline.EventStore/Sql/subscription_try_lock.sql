-- Leader lock of a subscription: a session lock, held while the connection lives.
SELECT pg_try_advisory_lock(hashtextextended('audit.subscription:' || @name, 0))
