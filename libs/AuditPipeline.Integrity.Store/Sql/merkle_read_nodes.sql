-- Stored perfect subtrees by (level, index), given as two parallel arrays.
SELECT n.level, n.idx, n.hash
FROM audit.merkle_nodes n
JOIN unnest(@levels::smallint[], @indexes::bigint[]) AS want(level, idx)
  ON n.level = want.level AND n.idx = want.idx
