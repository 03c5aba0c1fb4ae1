-- Checks the rows just inserted at positions first..next-1 and advances the chain heads and the
-- log head (migration 0010): the only way a service moves them.
SELECT audit.append_commit(@first, @next, @recorded_at)
