-- Nodes completed by the tree projection. A replay after a crash completes the same nodes again
-- (ignored); a node already stored with another hash was planted or altered, and is returned so
-- the projection stops instead of building on it (the CTE's insert is not visible to the select:
-- it sees only rows that were there before).
WITH input AS (
    SELECT * FROM unnest(@levels::smallint[], @indexes::bigint[], @hashes::bytea[]) AS u(level, idx, hash)
), inserted AS (
    INSERT INTO audit.merkle_nodes (level, idx, hash) SELECT level, idx, hash FROM input
    ON CONFLICT (level, idx) DO NOTHING
)
SELECT i.level, i.idx FROM input i JOIN audit.merkle_nodes n ON n.level = i.level AND n.idx = i.idx WHERE n.hash <> i.hash
