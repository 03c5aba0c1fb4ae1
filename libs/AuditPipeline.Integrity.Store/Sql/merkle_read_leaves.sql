-- Chain hashes of a range of log positions, in order (the tree's leaves before hashing), from the
-- events and, for dropped months, the leaves retained at the drop.
SELECT global_seq, hash FROM (
    -- below the log head: only committed, checked appends are leaves
    SELECT global_seq, hash FROM audit.events WHERE global_seq BETWEEN @first AND @last AND global_seq < (SELECT next_seq FROM audit.log_head)
    UNION ALL
    SELECT global_seq, hash FROM audit.retained_leaves WHERE global_seq BETWEEN @first AND @last
) leaves
ORDER BY global_seq
