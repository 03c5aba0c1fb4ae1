COPY audit.event_ids (event_id, global_seq) FROM STDIN (FORMAT BINARY)
