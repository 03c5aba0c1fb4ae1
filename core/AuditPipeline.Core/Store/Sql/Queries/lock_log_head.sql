-- Serializes appends: held until commit, so global positions commit in order (see 0001).
SELECT next_seq FROM audit.log_head WHERE singleton FOR UPDATE
