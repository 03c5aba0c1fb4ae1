SELECT global_seq, payload::text FROM audit.events WHERE global_seq = ANY(@seqs)
