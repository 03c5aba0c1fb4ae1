SELECT coalesce(max(global_seq), 0) FROM audit.events WHERE recorded_at >= @from AND recorded_at < @to
