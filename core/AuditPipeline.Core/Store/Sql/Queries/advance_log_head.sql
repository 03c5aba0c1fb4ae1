UPDATE audit.log_head SET next_seq = @next WHERE singleton AND next_seq = @expected
