-- For chains whose archived part ends at a version: the stored event right after it, if any.
SELECT a.stream_id, e.version, e.prev_hash
FROM unnest(@streams::text[], @versions::bigint[]) AS a(stream_id, version)
JOIN audit.events e ON e.stream_id = a.stream_id AND e.version = a.version + 1
