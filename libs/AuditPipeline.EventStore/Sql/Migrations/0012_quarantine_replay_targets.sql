-- A replayed copy that ingest refuses again is quarantined at the position the replay recorded.
-- `auditctl store quarantine replay` leaves such rows out (their original is the row to replay),
-- so it never re-sends its own copies; this index makes that lookup cheap.
CREATE INDEX quarantine_replays_target ON audit.quarantine_replays (target_topic, target_partition, target_offset);
