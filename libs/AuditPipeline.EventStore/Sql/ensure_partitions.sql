SELECT audit.ensure_partitions(@at, 2)
