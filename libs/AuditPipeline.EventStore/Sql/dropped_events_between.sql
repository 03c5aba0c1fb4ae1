-- How many events of dropped months lie strictly between two log positions.
SELECT coalesce(sum(events), 0)::bigint FROM audit.dropped_months WHERE first_seq > @after AND last_seq < @next
