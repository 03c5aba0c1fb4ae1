SELECT stream_id, version, hash FROM audit.stream_heads WHERE (@stream::text IS NULL OR stream_id = @stream) ORDER BY stream_id
