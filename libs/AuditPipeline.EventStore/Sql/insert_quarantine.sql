-- A redelivered reject hits the unique source position and is recorded once.
INSERT INTO audit.quarantine (quarantined_at, source_topic, source_partition, source_offset, reason_code,
                              reason, event_id, message_key, raw_size, raw_sha256, raw_truncated, raw)
SELECT @now, u.topic, u.part, u.off, u.code, u.reason, u.event_id, u.msg_key, u.size, u.sha, u.truncated, u.raw
FROM unnest(@topics::text[], @partitions::int[], @offsets::bigint[], @codes::text[], @reasons::text[],
            @event_ids::uuid[], @keys::bytea[], @sizes::int[], @shas::bytea[], @truncated::bool[], @raws::bytea[])
     AS u(topic, part, off, code, reason, event_id, msg_key, size, sha, truncated, raw)
ON CONFLICT (source_topic, source_partition, source_offset, reason_code) DO NOTHING
