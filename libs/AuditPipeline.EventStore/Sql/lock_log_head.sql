-- Serializes appends: the log head's lock is held until commit, so global positions commit in
-- order (see 0001). Through the owner's function: no service may lock or update the head itself.
SELECT audit.append_begin()
