SELECT (SELECT count(*) FROM audit.events) AS events,
       (SELECT count(*) FROM audit.stream_heads) AS streams,
       (SELECT count(*) FROM audit.quarantine) AS quarantined,
       (SELECT next_seq - 1 FROM audit.log_head) AS log_size
