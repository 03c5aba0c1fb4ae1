-- Written after the broker acknowledged the copy: the row says where it went. A crash between the
-- two leaves a replay without its row; replaying again is harmless (ingest deduplicates by event id).
INSERT INTO audit.quarantine_replays (quarantine_id, replayed_at, replayed_by, target_topic, target_partition, target_offset)
VALUES (@id, clock_timestamp(), @by, @topic, @partition, @offset)
