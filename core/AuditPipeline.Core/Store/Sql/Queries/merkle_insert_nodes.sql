-- Nodes completed by the tree projection. A replay after a crash completes the same nodes again.
INSERT INTO audit.merkle_nodes (level, idx, hash)
SELECT * FROM unnest(@levels::smallint[], @indexes::bigint[], @hashes::bytea[])
ON CONFLICT (level, idx) DO NOTHING
