COPY audit.events (global_seq, stream_id, version, event_id, event_type, occurred_at, recorded_at, payload, prev_hash, hash) FROM STDIN (FORMAT BINARY)
