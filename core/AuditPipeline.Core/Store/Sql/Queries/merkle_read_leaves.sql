-- Chain hashes of a range of log positions, in order (the tree's leaves before hashing).
SELECT global_seq, hash
FROM audit.events
WHERE global_seq BETWEEN @first AND @last
ORDER BY global_seq
