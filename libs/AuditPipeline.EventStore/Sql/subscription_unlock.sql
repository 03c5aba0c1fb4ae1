SELECT pg_advisory_unlock(hashtextextended('audit.subscription:' || @name, 0))
