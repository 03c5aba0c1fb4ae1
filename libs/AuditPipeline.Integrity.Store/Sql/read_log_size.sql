SELECT next_seq - 1 FROM audit.log_head
