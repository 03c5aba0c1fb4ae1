-- Releases an active hold through the owner's function; false: there is no such active hold.
SELECT audit.release_legal_hold(@hold_id, @at, @by, @reason)
