-- The last position at or before @upto recorded before @since (0 if none): where a warm-up
-- replay of the last hours starts. Walks the primary key backwards over the warm-up window only.
SELECT coalesce((
    SELECT global_seq FROM audit.events
    WHERE global_seq <= @upto AND recorded_at < @since
    ORDER BY global_seq DESC
    LIMIT 1), 0)
