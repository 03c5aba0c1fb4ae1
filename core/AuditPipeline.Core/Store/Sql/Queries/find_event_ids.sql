SELECT event_id, global_seq FROM audit.event_ids WHERE event_id = ANY(@ids)
