-- Releases an active hold; no row: there is no such active hold.
UPDATE audit.legal_holds SET released_at = @at, released_by = @by, release_reason = @reason
WHERE hold_id = @hold_id AND released_at IS NULL
RETURNING hold_id;
