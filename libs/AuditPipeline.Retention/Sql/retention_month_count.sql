-- Events the hot store holds for a month (a drop checks it against the sealed count).
SELECT count(*) FROM audit.events WHERE recorded_at >= @from AND recorded_at < @to
