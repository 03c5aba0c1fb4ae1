-- Leaves covered by stored level-8 nodes (the tree projection writes them in order).
SELECT coalesce(max(idx) + 1, 0) * 256 FROM audit.merkle_nodes WHERE level = 8
