-- Chain hashes of several ranges of log positions in one round trip, range by range, in order
-- (events, and leaves retained from dropped months).
SELECT r.first_seq, e.global_seq, e.hash
FROM unnest(@firsts::bigint[], @lasts::bigint[]) AS r(first_seq, last_seq)
CROSS JOIN LATERAL (
    SELECT global_seq, hash FROM audit.events WHERE global_seq BETWEEN r.first_seq AND r.last_seq AND global_seq < (SELECT next_seq FROM audit.log_head)
    UNION ALL
    SELECT global_seq, hash FROM audit.retained_leaves WHERE global_seq BETWEEN r.first_seq AND r.last_seq
) e
ORDER BY r.first_seq, e.global_seq
