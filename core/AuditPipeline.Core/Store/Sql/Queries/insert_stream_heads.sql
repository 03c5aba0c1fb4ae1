INSERT INTO audit.stream_heads (stream_id, version, hash, global_seq, updated_at)
SELECT u.stream_id, u.version, u.hash, u.global_seq, @now
FROM unnest(@streams::text[], @versions::bigint[], @hashes::bytea[], @seqs::bigint[])
     AS u(stream_id, version, hash, global_seq)
