-- The event just before a verified range, whose hash the range's first event must link to.
SELECT version, hash FROM audit.events WHERE stream_id = @stream AND version = @version
