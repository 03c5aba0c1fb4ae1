SELECT stream_id, version, hash FROM audit.stream_heads WHERE stream_id = ANY(@streams)
