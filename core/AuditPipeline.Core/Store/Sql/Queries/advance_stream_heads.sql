-- Compare-and-set: a head moves only from the version this append read.
UPDATE audit.stream_heads AS h
SET version = u.version, hash = u.hash, global_seq = u.global_seq, updated_at = @now
FROM unnest(@streams::text[], @expected::bigint[], @versions::bigint[], @hashes::bytea[], @seqs::bigint[])
     AS u(stream_id, expected, version, hash, global_seq)
WHERE h.stream_id = u.stream_id AND h.version = u.expected
